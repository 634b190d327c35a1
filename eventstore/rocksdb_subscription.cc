#include "eventstore/rocksdb_event_store.h"


namespace certsched::eventstore::internal {

std::unique_ptr<Subscription> RocksDbEventStore::subscribe(uint64_t after_position,
                                                           EventHandler handler) {
  return std::make_unique<PollingSubscription>(this, after_position, std::move(handler));
}

PollingSubscription::PollingSubscription(RocksDbEventStore* store, uint64_t after,
                                         EventHandler handler)
    : store_(store), handler_(std::move(handler)), position_(after) {
  thread_ = std::thread([this] { run(); });
}

PollingSubscription::~PollingSubscription() {
  stop_ = true;
  thread_.join();
}

void PollingSubscription::run() {
  constexpr size_t kBatch = 1024;
  // The writer's own subscriptions wake on each commit; a reader in another process can
  // only learn of new appends by catching up, so it polls.
  const auto idle_wait = std::chrono::milliseconds(store_->read_only() ? 50 : 100);
  while (!stop_) {
    auto batch = store_->read_all(position_ + 1, kBatch);
    Status st = batch.ok() ? Status::Ok() : batch.status();
    if (st.ok() && !batch->empty()) {
      st = handler_(batch.value());
      if (st.ok()) position_ = batch->back().position;
    }
    if (!st.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      status_ = st;
      return;
    }
    if (batch->size() < kBatch) {
      store_->wait_for_append(position_, idle_wait);
      if (store_->read_only()) {
        Status refreshed = store_->refresh();
        if (!refreshed.ok()) {
          std::lock_guard<std::mutex> l(mu_);
          status_ = refreshed;
          return;
        }
      }
    }
  }
}

}  // namespace certsched::eventstore::internal
