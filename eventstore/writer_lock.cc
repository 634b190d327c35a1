#include "eventstore/writer_lock.h"
#include "eventstore/store_writer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace certsched::eventstore {
namespace {

std::string utc_now_iso() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string read_holder(int fd) {
  char buf[512];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "another process";
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s.empty() ? "another process" : s;
}

}  // namespace

Result<WriterLock> WriterLock::acquire(const std::string& dir, const std::string& holder) {
  const std::string path = dir + "/writer.lock";
  base::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  }
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string who = read_holder(fd.get());
    if (err == EWOULDBLOCK) {
      return Status::Busy("store " + dir + " is held for writing by " + who +
                          "; stop that process, or use a read-only command");
    }
    return Status::IOError("cannot lock " + path + ": " + std::strerror(err));
  }
  char host[256] = "unknown-host";
  gethostname(host, sizeof host - 1);
  std::string text = "pid " + std::to_string(getpid()) + " on " + host + " (" + holder +
                     ", since " + utc_now_iso() + ")\n";
  if (::ftruncate(fd.get(), 0) != 0 ||
      ::pwrite(fd.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    const int err = errno;
    return Status::IOError("cannot write " + path + ": " + std::strerror(err));
  }
  return WriterLock(std::move(fd));
}

Result<std::optional<std::string>> store_writer(const std::string& dir) {
  const std::string path = dir + "/writer.lock";
  base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  }
  // The same probe a second writer makes: free, it is released at once (closing the file).
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return std::optional<std::string>();
  if (errno != EWOULDBLOCK) return Status::IOError("cannot probe " + path + ": " + std::strerror(errno));
  return std::optional<std::string>(read_holder(fd.get()));
}

}  // namespace certsched::eventstore
