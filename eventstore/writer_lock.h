// The store's single-writer lock: an flock(2) on DIR/writer.lock whose contents name the
// holder (pid, host, what it runs, since when), so that a second writer is told who has it.
// The kernel drops the lock when the holder dies, even by SIGKILL.
// Internal to eventstore/.
#pragma once

#ifndef CERTSCHED_INTERNAL_EVENTSTORE
#error "eventstore/writer_lock.h is internal to eventstore/ (tests may look inside)"
#endif

#include <string>

#include "base/status.h"
#include "base/unique_fd.h"

namespace certsched::eventstore {

class WriterLock {
 public:
  // Takes the lock or returns Busy naming the holder.
  static Result<WriterLock> acquire(const std::string& dir, const std::string& holder);

 private:
  explicit WriterLock(base::UniqueFd fd) : fd_(std::move(fd)) {}
  base::UniqueFd fd_;  // closing the last descriptor releases the flock
};

}  // namespace certsched::eventstore
