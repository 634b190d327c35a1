// How read models follow the log: each sees every event after the engine's state applied
// it (the engine feeds them; a rebuild feeds them the same way).
#pragma once

#include "base/status.h"
#include "domain/events.h"
#include "domain/state.h"
#include "eventstore/event_store.h"

namespace certsched::domain {

// Sees every event after the engine's state has applied it: read models such as the
// notification outbox are fed this way, from the log only.
class EventObserver {
 public:
  virtual ~EventObserver() = default;
  virtual Status on_event(const eventstore::RecordedEvent& record, const Event& event, const DomainState& after) = 0;
  // Called when the engine has caught up with the log: a moment to flush buffered work.
  virtual Status on_caught_up() { return Status::Ok(); }
};

}  // namespace certsched::domain
