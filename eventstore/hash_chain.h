// The SHA-256 hash chain over stored records:
//   hash(n) = SHA-256(hash(n-1) || record bytes(n)),  hash(0) = 32 zero bytes.
// Altering, removing or reordering any record changes every hash from it on.
// Internal to eventstore/.
#pragma once

#ifndef CERTSCHED_INTERNAL_EVENTSTORE
#error "eventstore/hash_chain.h is internal to eventstore/ (tests may look inside)"
#endif

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace certsched::eventstore {

using ChainHash = std::array<uint8_t, 32>;

constexpr ChainHash kGenesisHash{};

ChainHash chain_next(const ChainHash& previous, std::string_view record_bytes);

std::string to_hex(const ChainHash& hash);

}  // namespace certsched::eventstore
