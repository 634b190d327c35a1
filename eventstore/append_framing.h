// How an append becomes stored values, whatever holds them: the expected versions checked
// against the streams' current versions, then each stream's events cut into runs, framed
// and chained onto the head. Internal to eventstore/.
#pragma once

#ifndef CERTSCHED_INTERNAL_EVENTSTORE
#error "eventstore/append_framing.h is internal to eventstore/ (tests may look inside)"
#endif

#include <functional>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "eventstore/event_store.h"
#include "eventstore/hash_chain.h"
#include "eventstore/record_format.h"

namespace certsched::eventstore::internal {

// Conflict naming the stream when a write's expected version does not hold against
// `current` (each write's stream version, in order).
Status check_expected_versions(const AppendRequest& req, const std::vector<uint64_t>& current);

// One run as stored: the value (framed record, then its chain hash) goes under
// header.first_position.
struct FramedRun {
  const RunHeader& header;
  size_t write;  // its StreamWrite's index in the request
  size_t events;
  uint64_t last_version;
  bool ends_stream_write;  // the last run of its StreamWrite
  std::string_view value;
};

// Frames every write's events after the head (*position, *hash), which it advances, and
// hands each run to `store`. The result has the positions, versions and request digest.
// REQUIRES: the request passed validate_request and check_expected_versions.
AppendResult frame_append(const AppendRequest& req, const std::vector<uint64_t>& current, uint64_t* position,
                          ChainHash* hash, const std::function<void(const FramedRun&)>& store);

}  // namespace certsched::eventstore::internal
