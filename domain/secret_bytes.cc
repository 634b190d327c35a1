#include "domain/secret_bytes.h"

#include <openssl/crypto.h>

namespace certsched::domain {

void secure_wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace certsched::domain
