#include "eventstore/following_subscription.h"
#include "eventstore/rocksdb_event_store.h"

namespace certsched::eventstore::internal {

std::unique_ptr<Subscription> RocksDbEventStore::subscribe(uint64_t after_position, EventHandler handler) {
  // The writer's own subscriptions wake on each commit; a reader in another process can
  // only learn of new appends by catching up, so it polls.
  const auto idle_wait = std::chrono::milliseconds(read_only() ? 50 : 100);
  auto wait_for_more = [this, idle_wait](uint64_t position) {
    wait_for_append(position, idle_wait);
    return read_only() ? refresh() : Status::Ok();
  };
  return std::make_unique<FollowingSubscription>(this, after_position, std::move(handler), wait_for_more,
                                                 /*wait_out_io_errors=*/false);
}

}  // namespace certsched::eventstore::internal
