// Determinism check: rebuilds every projection from position 0 into a scratch directory,
// through the same state machines and read models as the engine, and compares it with the
// live projections at the same position. Any difference is named.
#pragma once

#include <functional>
#include <optional>
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
  // With verify: the walk's report. When it is not verified nothing was compared.
  std::optional<eventstore::VerifyReport> verification;
  bool deterministic() const;
};

// Called now and then with (events replayed, events to replay).
using Progress = std::function<void(uint64_t done, uint64_t total)>;

// With `verify`, the same single walk of the log also verifies it (EventStore::verify).
Result<RebuildReport> rebuild_and_compare(eventstore::EventStore& store, const std::string& store_dir,
                                          const Progress& progress = nullptr, bool verify = false);

}  // namespace certsched::replay
