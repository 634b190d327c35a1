#include "base/openssl_util.h"

namespace certsched::base {

std::string drain_openssl_errors() {
  std::string first;
  for (unsigned long e; (e = ERR_get_error()) != 0;) {
    if (first.empty()) {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      first = buf;
    }
  }
  return first;
}

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

}  // namespace certsched::base
