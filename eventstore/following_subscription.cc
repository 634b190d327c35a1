#include "eventstore/following_subscription.h"

namespace certsched::eventstore::internal {

FollowingSubscription::FollowingSubscription(EventStore* store, uint64_t after, EventHandler handler,
                                             WaitForMore wait_for_more, bool wait_out_io_errors)
    : store_(store),
      handler_(std::move(handler)),
      wait_for_more_(std::move(wait_for_more)),
      wait_out_io_errors_(wait_out_io_errors),
      position_(after) {
  thread_ = std::thread([this] { run(); });
}

FollowingSubscription::~FollowingSubscription() {
  stop_ = true;
  thread_.join();
}

Status FollowingSubscription::status() const {
  std::lock_guard<std::mutex> l(mu_);
  return status_;
}

void FollowingSubscription::run() {
  constexpr size_t kBatch = 1024;
  std::vector<RecordedEvent> batch;
  while (!stop_) {
    Status st = store_->read_all(position_ + 1, kBatch, &batch);
    if (st.ok() && !batch.empty()) {
      st = handler_(batch);
      if (st.ok()) position_ = batch.back().position;
    }
    // Damage or a handler's refusal stops; a database that is away may be waited out.
    if (!st.ok() && !(wait_out_io_errors_ && st.IsIOError())) {
      std::lock_guard<std::mutex> l(mu_);
      status_ = st;
      return;
    }
    if (st.ok() && batch.size() == kBatch) continue;
    if (Status waited = wait_for_more_(position_); !waited.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      status_ = waited;
      return;
    }
  }
}

}  // namespace certsched::eventstore::internal
