// A subscription on a thread of its own, whatever the backend: it reads the log by
// position from where it stands and hands each batch to the handler, and between reads
// waits in the way its backend can learn of new appends. Internal to eventstore/.
#pragma once

#ifndef CERTSCHED_INTERNAL_EVENTSTORE
#error "eventstore/following_subscription.h is internal to eventstore/ (tests may look inside)"
#endif

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include "eventstore/event_store.h"

namespace certsched::eventstore::internal {

class FollowingSubscription final : public Subscription {
 public:
  // Waits until more may have been appended after `position` (at most a short while:
  // stopping waits for it). An error it returns stops the subscription.
  using WaitForMore = std::function<Status(uint64_t position)>;

  // `wait_out_io_errors`: a read that fails with IOError (a database that is away) is tried
  // again after a wait rather than stopping the subscription.
  FollowingSubscription(EventStore* store, uint64_t after, EventHandler handler, WaitForMore wait_for_more,
                        bool wait_out_io_errors);
  ~FollowingSubscription() override;
  Status status() const override;
  uint64_t position() const override { return position_.load(); }

 private:
  void run();

  EventStore* store_;
  EventHandler handler_;
  WaitForMore wait_for_more_;
  bool wait_out_io_errors_;
  std::atomic<uint64_t> position_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  Status status_;
  std::thread thread_;
};

}  // namespace certsched::eventstore::internal
