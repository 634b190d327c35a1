// The store's single-writer lock: an flock(2) on DIR/writer.lock whose contents name the
// holder (pid, host, what it runs, since when), so that a second writer is told who has it.
// The kernel drops the lock when the holder dies, even by SIGKILL.
#pragma once

#include <string>

#include "eventstore/status.h"

namespace certsched::eventstore {

class WriterLock {
 public:
  // Takes the lock or returns Busy naming the holder.
  static Result<WriterLock> acquire(const std::string& dir, const std::string& holder);

  WriterLock(WriterLock&& other) noexcept;
  WriterLock& operator=(WriterLock&& other) noexcept;
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;
  ~WriterLock();

 private:
  explicit WriterLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace certsched::eventstore
