#include "base/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/unique_fd.h"

namespace certsched::base {

Status write_all(int fd, const char* bytes, size_t size, const std::string& what) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, bytes + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IOError("cannot write " + what + ": " + std::strerror(errno));
    if (n == 0) return Status::IOError("cannot write " + what + ": no progress");
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status sync_directory(const std::string& dir) {
  UniqueFd dfd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid() || ::fsync(dfd.get()) != 0) {
    return Status::IOError("cannot sync the directory " + dir + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

Status write_file_atomically(const std::string& path, const std::string& bytes, mode_t mode) {
  const std::string tmp = path + ".certsched-tmp";
  ::unlink(tmp.c_str());
  Status written;
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!fd.valid()) return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno));
    written = write_all(fd.get(), bytes.data(), bytes.size(), path);
    // The mode again: the umask may have narrowed or widened what open() made.
    if (written.ok() && (::fchmod(fd.get(), mode) != 0 || ::fsync(fd.get()) != 0)) {
      written = Status::IOError("cannot write " + path + ": " + std::strerror(errno));
    }
  }
  if (written.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    written = Status::IOError("cannot write " + path + ": " + std::strerror(errno));
  }
  if (!written.ok()) {
    ::unlink(tmp.c_str());
    return written;
  }
  return sync_directory(std::filesystem::path(path).parent_path().string());
}

Result<std::optional<std::string>> read_file_if_exists(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Status::IOError("cannot read " + path + ": " + std::strerror(errno));
  }
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IOError("cannot read " + path + ": " + std::strerror(errno));
    out.append(buf, static_cast<size_t>(n));
  }
  return std::optional<std::string>(std::move(out));
}

}  // namespace certsched::base
