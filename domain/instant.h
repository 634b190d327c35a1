// ISO 8601 instants (UTC) as int64 nanoseconds since the epoch.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "eventstore/status.h"

namespace certsched::domain {

// Accepts 2027-01-15T00:00:00Z, with optional fractional seconds and a Z or ±HH:MM offset.
Result<int64_t> parse_instant(std::string_view text);
std::string format_instant(int64_t ns);

}  // namespace certsched::domain
