// Reading a long log while applying it, on two cores: a helper thread produces the next
// batch (reading, checking, decoding) while the calling thread consumes the one before.
// A replay at startup, `replay --verify` and a projection rebuild all walk the whole log,
// and each half of the walk is about half the work; a projection flush after a long catch-up
// builds rows while writing the ones before.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "base/status.h"

namespace certsched::base {

// Calls `produce` on a helper thread and `consume` on the calling thread, batch by batch,
// in order. `produce` refills the batch it is given (the two batches go round, so their
// buffers are reused) and sets `*more` to false after the last one; `consume` may use the
// batch up. Each batch is consumed before an error `produce` returned with it is returned,
// so that a consumer sees exactly what preceded the error. An error from `consume` stops
// the producer and is returned.
template <class Batch>
Status read_ahead(const std::function<Status(Batch* batch, bool* more)>& produce,
                  const std::function<Status(Batch& batch)>& consume) {
  struct Slot {
    Batch batch;
    Status status;
    bool last = false;
  };
  Slot slots[2];
  std::mutex mu;
  std::condition_variable changed;
  int ready = 0;         // slots produced and not yet consumed
  bool stopped = false;  // the consumer failed: produce nothing more

  std::thread helper([&] {
    for (size_t i = 0;; ++i) {
      Slot& slot = slots[i % 2];
      {
        std::unique_lock<std::mutex> l(mu);
        changed.wait(l, [&] { return ready < 2 || stopped; });
        if (stopped) return;
      }
      bool more = true;
      slot.status = produce(&slot.batch, &more);
      slot.last = !more || !slot.status.ok();
      {
        std::lock_guard<std::mutex> l(mu);
        ++ready;
      }
      changed.notify_all();
      if (slot.last) return;
    }
  });

  Status result;
  for (size_t i = 0;; ++i) {
    Slot& slot = slots[i % 2];
    {
      std::unique_lock<std::mutex> l(mu);
      changed.wait(l, [&] { return ready > 0; });
    }
    Status consumed = consume(slot.batch);
    // Read before the slot is handed back: the helper refills it at once.
    const bool last = slot.last;
    Status produced = slot.status;
    {
      std::lock_guard<std::mutex> l(mu);
      --ready;
      if (!consumed.ok()) stopped = true;
    }
    changed.notify_all();
    if (!consumed.ok()) {
      result = consumed;
      break;
    }
    if (last) {
      result = produced;
      break;
    }
  }
  helper.join();
  return result;
}

}  // namespace certsched::base
