// The scheduler lease of an embedded store: one node, always the scheduler.
#include "eventstore/event_store.h"

namespace certsched::eventstore {
namespace {

class SingleNodeLease final : public SchedulerLease {
 public:
  bool leads() const override { return true; }
  uint64_t epoch() const override { return 0; }
  std::string role() const override { return "single"; }
  void step_down() override {}
  bool shared() const override { return false; }
};

}  // namespace

std::unique_ptr<SchedulerLease> EventStore::elect_scheduler(const std::string&, std::function<void()>) {
  return std::make_unique<SingleNodeLease>();
}

}  // namespace certsched::eventstore
