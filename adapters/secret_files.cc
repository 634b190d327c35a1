#include "adapters/secret_files.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

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
  // Write to a temp file created 0600 from the start, so the secret is never readable by
  // others, then rename it into place.
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno));
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fchmod(fd, 0600) == 0 && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::IOError("cannot write " + path + ": " + std::strerror(written ? errno : err));
  }
  return Status::Ok();
}

}  // namespace certsched::adapters
