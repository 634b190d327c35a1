#include "adapters/secret_files.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <vector>

#include "base/atomic_file.h"

namespace certsched::adapters {

Status write_random_secret(const std::string& path, size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    return Status::IOError("the system random generator failed while creating " + path);
  }
  static const char* kDigits = "0123456789abcdef";
  std::string text;
  for (unsigned char b : raw) {
    text.push_back(kDigits[b >> 4]);
    text.push_back(kDigits[b & 0xF]);
  }
  text.push_back('\n');
  OPENSSL_cleanse(raw.data(), raw.size());
  Status st = base::write_file_atomically(path, text, 0600);  // 0600 from creation on
  OPENSSL_cleanse(text.data(), text.size());
  return st;
}

}  // namespace certsched::adapters
