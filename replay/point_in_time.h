// The state as it was at a past position or instant: which certificate each partner used
// for each role then, and which decision put it there. Replayed from the log only.
#pragma once

#include <cstdint>
#include <memory>

#include "domain/state.h"
#include "eventstore/event_store.h"

namespace certsched::replay {

struct PointInTime {
  std::unique_ptr<domain::DomainState> state;
  uint64_t position = 0;  // the last event applied
};

// Applies events up to `position` (inclusive), or up to the last event recorded at or
// before `as_of_ns`; give one of them (the other 0).
Result<PointInTime> state_at(eventstore::EventStore& store, uint64_t position, int64_t as_of_ns);

}  // namespace certsched::replay
