#include "eventstore/log_walk.h"

#include <algorithm>

#include "eventstore/record_format.h"

namespace certsched::eventstore::internal {

LogWalk::LogWalk(uint64_t head_position, const ChainHash& head_hash)
    : head_position_(head_position), head_hash_(head_hash),
      streams_(std::min<uint64_t>(head_position, uint64_t{1} << 22) / 4) {
  report_.head_hash_hex = to_hex(head_hash);
}

void LogWalk::fail(uint64_t position, std::string problem) {
  if (failed_) return;
  report_.first_bad_position = position;
  report_.problem = std::move(problem);
  failed_ = true;
}

bool LogWalk::step(uint64_t position, std::string_view value, std::vector<RecordedEvent>* run) {
  if (failed_) return false;
  if (position != expected_) {
    if (expected_ > head_position_) {
      fail(expected_, "record at position " + std::to_string(position) + " lies beyond the head at " +
                          std::to_string(head_position_));
    } else {
      fail(expected_, "record at position " + std::to_string(expected_) + " is missing");
    }
    return false;
  }
  StoredValue sv;
  const Status parsed = parse_stored_value(value, position, &sv);
  if (!parsed.ok()) {
    fail(position, parsed.message());
    return false;
  }
  // Decoded first, so that the stream's slot in the table comes from memory while the
  // hash is computed; a broken chain is still reported before a run that does not decode.
  const Status decoded = decode_events(sv, position, run);
  const uint64_t stream_key = decoded.ok() ? stream_hash_(run->front().stream) : 0;
  if (decoded.ok()) streams_.prefetch(stream_key);
  const ChainHash computed = chain_next(previous_, sv.framed_record);
  if (computed != sv.hash) {
    fail(position, "record at position " + std::to_string(position) +
                       ": hash chain broken (record altered, replaced or reordered)");
    return false;
  }
  if (!decoded.ok()) {
    fail(position, decoded.message());
    return false;
  }
  // A run's events are one stream's consecutive versions: only its first can jump.
  StreamTable::Seen& seen = streams_.at(stream_key);
  if (run->front().stream_version != seen.version + 1) {
    fail(position, "record at position " + std::to_string(position) + ": stream " + run->front().stream +
                       " jumps from version " + std::to_string(seen.version) + " to " +
                       std::to_string(run->front().stream_version));
    return false;
  }
  seen.version = run->back().stream_version;
  previous_ = computed;
  report_.events = run->back().position;
  expected_ = report_.events + 1;
  return true;
}

VerifyReport LogWalk::finish() {
  if (failed_) return report_;
  // The tail, last: a missing end or a head that does not match.
  if (report_.events > head_position_) {
    fail(head_position_ + 1, "the log's last run ends at position " + std::to_string(report_.events) +
                                 ", beyond the head at " + std::to_string(head_position_));
  } else if (report_.events < head_position_) {
    fail(report_.events + 1, "the log ends at position " + std::to_string(report_.events) +
                                 " but its head says " + std::to_string(head_position_) +
                                 " (records removed from the tail)");
  } else if (previous_ != head_hash_) {
    fail(report_.events, "the head hash does not match the last record");
  }
  report_.verified = !failed_;
  return report_;
}

}  // namespace certsched::eventstore::internal
