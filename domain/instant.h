// ISO 8601 instants (UTC) as int64 nanoseconds since the epoch.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace certsched::domain {

// Accepts 2027-01-15T00:00:00Z, with optional fractional seconds and a Z or ±HH:MM offset.
Result<int64_t> parse_instant(std::string_view text);
// The same, or `now` (CLI.md: "`now` where a time is accepted"), which is `now_ns`.
Result<int64_t> parse_instant_or_now(std::string_view text, int64_t now_ns);

// Instants are nanoseconds since 1970 in 64 bits; certsched holds 1970 to 2262, so that the
// difference of two never overflows. A certificate may say "valid until 9999-12-31" (RFC
// 5280's "no expiry") or "from 1950": times outside the range saturate at its ends.
inline constexpr int64_t kLatestInstantSeconds = 9'223'372'035;  // 2262-04-11T23:47:15Z
int64_t instant_from_seconds(int64_t seconds);
std::string format_instant(int64_t ns);

}  // namespace certsched::domain
