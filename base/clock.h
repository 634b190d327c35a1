// The one clock certsched reads: the system's wall clock, as int64 nanoseconds since the
// Unix epoch, UTC (events store time this way). Tests move it with `faketime`.
#pragma once

#include <cstdint>

namespace certsched::base {

int64_t now_ns();

}  // namespace certsched::base
