#include "adapters/command_id.h"

#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>

namespace certsched::adapters {

std::string new_command_id() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    std::fputs("certsched: the system random generator failed\n", stderr);
    std::exit(1);
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // UUID version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kDigits[b[i] >> 4]);
    s.push_back(kDigits[b[i] & 0xF]);
  }
  return s;
}

}  // namespace certsched::adapters
