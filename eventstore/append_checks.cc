#include "eventstore/append_checks.h"

#include "eventstore/record_format.h"
#include "eventstore/rocksdb_layout.h"

namespace certsched::eventstore::internal {

static Status validate_text(const std::string& value, const char* name, size_t max, bool required) {
  if (required && value.empty()) return Status::InvalidArgument(std::string(name) + " is empty");
  if (value.size() > max) {
    return Status::InvalidArgument(std::string(name) + " is longer than " + std::to_string(max) +
                                   " bytes");
  }
  return Status::Ok();
}

// The first result of a command id applied again. A digest that differs from the one the
// id was first applied with means another request reused the id: answering it with the
// first request's result would tell its caller that something it never asked for was done.
Result<AppendResult> as_retry(const std::string& command_id, const std::string& request_digest, AppendResult first) {
  if (!request_digest.empty() && !first.request_digest.empty() && request_digest != first.request_digest) {
    return Status::Conflict("command id " + command_id +
                            " was already used for another command (at position " +
                            std::to_string(first.first_position) + "); give each command its own id");
  }
  first.duplicate = true;
  return first;
}

Status validate_request(const AppendRequest& req) {
  CERTSCHED_RETURN_IF_ERROR(validate_text(req.command_id, "command id", kMaxIdBytes, true));
  CERTSCHED_RETURN_IF_ERROR(validate_text(req.actor, "actor", kMaxIdBytes, false));
  CERTSCHED_RETURN_IF_ERROR(
      validate_text(req.correlation_id, "correlation id", kMaxIdBytes, false));
  if (req.request_digest.size() > kMaxDigestBytes) {
    return Status::InvalidArgument("request digest is longer than " + std::to_string(kMaxDigestBytes) + " bytes");
  }
  if (req.writes.empty()) return Status::InvalidArgument("append has no streams to write");
  size_t total = 0;
  std::unordered_set<std::string_view> streams;  // a proposal may write 10,000 streams
  streams.reserve(req.writes.size());
  for (size_t i = 0; i < req.writes.size(); ++i) {
    const StreamWrite& w = req.writes[i];
    CERTSCHED_RETURN_IF_ERROR(validate_text(w.stream, "stream name", kMaxStreamNameBytes, true));
    if (w.stream.find('\0') != std::string::npos) {
      return Status::InvalidArgument("stream name contains a NUL byte");
    }
    if (!streams.insert(w.stream).second) {
      return Status::InvalidArgument("stream " + w.stream + " appears twice in one append");
    }
    if (w.events.empty()) return Status::InvalidArgument("no events for stream " + w.stream);
    for (const NewEvent& e : w.events) {
      CERTSCHED_RETURN_IF_ERROR(validate_text(e.type, "event type", kMaxTypeNameBytes, true));
      if (e.payload.size() > kMaxPayloadBytes) {
        return Status::InvalidArgument("payload of a " + e.type + " event exceeds " +
                                       std::to_string(kMaxPayloadBytes) + " bytes");
      }
    }
    total += w.events.size();
  }
  if (total > kMaxEventsPerAppend) return Status::InvalidArgument("too many events in one append");
  return Status::Ok();
}

}  // namespace certsched::eventstore::internal
