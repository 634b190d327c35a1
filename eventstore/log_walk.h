// The checks of a verifying walk over the whole log, whatever holds it: each stored value
// in position order (frame, checksum, hash chain, positions, stream versions), then the
// tail against the recorded head. Both backends feed it. Internal to eventstore/.
#pragma once

#ifndef CERTSCHED_INTERNAL_EVENTSTORE
#error "eventstore/log_walk.h is internal to eventstore/ (tests may look inside)"
#endif

#include <string>
#include <string_view>
#include <vector>

#include "eventstore/event_store.h"
#include "eventstore/hash_chain.h"
#include "eventstore/stream_table.h"

namespace certsched::eventstore::internal {

class LogWalk {
 public:
  LogWalk(uint64_t head_position, const ChainHash& head_hash);

  // Checks `value` (framed record, then its chain hash) stored under `position`, the next
  // key of the log. On success its events are in `run`; otherwise report() names the first
  // bad position and every later step is refused.
  bool step(uint64_t position, std::string_view value, std::vector<RecordedEvent>* run);
  // After the last value: the log's end against the head. Returns the report.
  VerifyReport finish();
  // Stops the walk at the head with a problem found outside it (a malformed key).
  void fail(uint64_t position, std::string problem);

  bool failed() const { return failed_; }
  uint64_t head_position() const { return head_position_; }
  uint64_t next_position() const { return expected_; }

 private:
  uint64_t head_position_;
  ChainHash head_hash_;
  VerifyReport report_;
  bool failed_ = false;
  // Keyed by a 64-bit hash of the stream name. Two names with one hash (about one chance
  // in 10^7 with a million streams) would show as a version jump, a false alarm.
  StreamTable streams_;
  std::hash<std::string_view> stream_hash_;
  ChainHash previous_ = kGenesisHash;
  uint64_t expected_ = 1;
};

}  // namespace certsched::eventstore::internal
