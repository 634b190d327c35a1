// Determinism check: rebuilds every projection from position 0 into a scratch directory,
// through the same state machines and read models as the engine, and compares it with the
// live projections at the same position. Any difference is named.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "eventstore/event_store.h"

namespace certsched::replay {

struct ProjectionComparison {
  std::string projection;
  bool equal = false;
  std::string first_difference;  // empty when equal
};

struct RebuildReport {
  uint64_t events = 0;       // events replayed
  bool live_found = false;   // false: the store has no live projections to compare with
  uint64_t live_position = 0;
  std::vector<ProjectionComparison> projections;
  bool deterministic() const;
};

// Called now and then with (events replayed, events to replay).
using Progress = std::function<void(uint64_t done, uint64_t total)>;

Result<RebuildReport> rebuild_and_compare(eventstore::EventStore& store, const std::string& store_dir,
                                          const Progress& progress = nullptr);

}  // namespace certsched::replay
