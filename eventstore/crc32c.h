// CRC-32C (Castagnoli), the checksum that frames each stored record.
// Internal to eventstore/.
#pragma once

#ifndef CERTSCHED_INTERNAL_EVENTSTORE
#error "eventstore/crc32c.h is internal to eventstore/ (tests may look inside)"
#endif

#include <cstdint>
#include <string_view>

namespace certsched::eventstore {

uint32_t crc32c(std::string_view data, uint32_t seed = 0);

}  // namespace certsched::eventstore
