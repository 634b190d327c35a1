#include "eventstore/crc32c.h"

#include <array>
#include <cstring>

namespace certsched::eventstore {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78u;  // reflected Castagnoli polynomial

constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPolynomial : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kTable = make_table();

uint32_t crc32c_table(std::string_view data, uint32_t seed) {
  uint32_t c = ~seed;
  for (char ch : data) c = kTable[(c ^ static_cast<uint8_t>(ch)) & 0xFF] ^ (c >> 8);
  return ~c;
}

#if defined(__x86_64__)
// SSE4.2 has a CRC-32C instruction: eight bytes at a time, against one byte per table
// lookup. Every record read is checked, so this is on the replay's hot path.
__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(std::string_view data, uint32_t seed) {
  uint64_t c = ~seed;
  const char* p = data.data();
  size_t n = data.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = __builtin_ia32_crc32di(c, word);
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  for (; n > 0; ++p, --n) c32 = __builtin_ia32_crc32qi(c32, static_cast<uint8_t>(*p));
  return ~c32;
}
#endif

}  // namespace

uint32_t crc32c(std::string_view data, uint32_t seed) {
#if defined(__x86_64__)
  static const bool kHardware = __builtin_cpu_supports("sse4.2");
  if (kHardware) return crc32c_sse42(data, seed);
#endif
  return crc32c_table(data, seed);
}

}  // namespace certsched::eventstore
