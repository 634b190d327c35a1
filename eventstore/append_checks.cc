#include "eventstore/append_checks.h"

#include "base/byte_io.h"
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

namespace {
constexpr std::string_view kHeadMoved = "head moved: ";
constexpr std::string_view kFenced = "fenced: ";
}  // namespace

Status head_moved_refusal(uint64_t checked_at, uint64_t head_position) {
  return Status::Conflict(std::string(kHeadMoved) + "the command was checked against the log at position " +
                          std::to_string(checked_at) + " but the log is at " + std::to_string(head_position));
}

Status fenced_refusal(uint64_t request_epoch, uint64_t store_epoch) {
  return Status::Conflict(std::string(kFenced) + "this node's scheduler holds leader epoch " +
                          std::to_string(request_epoch) + " but the store's is " + std::to_string(store_epoch) +
                          " (another node took over)");
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

std::string encode_append_result(const AppendResult& r) {
  std::string v;
  base::put_u64(v, r.first_position);
  base::put_u64(v, r.last_position);
  base::put_u32(v, static_cast<uint32_t>(r.versions.size()));
  for (const auto& sv : r.versions) {
    base::put_bytes16(v, sv.stream);
    base::put_u64(v, sv.version);
  }
  if (!r.request_digest.empty()) base::put_bytes16(v, r.request_digest);
  return v;
}

Status decode_append_result(std::string_view v, AppendResult* r) {
  base::ByteReader in(v);
  uint32_t n = 0;
  if (!in.u64(r->first_position) || !in.u64(r->last_position) || !in.u32(n)) {
    return Status::Corruption("command index entry is truncated");
  }
  for (uint32_t i = 0; i < n; ++i) {
    StreamVersion sv;
    if (!in.bytes16(sv.stream) || !in.u64(sv.version)) {
      return Status::Corruption("command index entry is truncated");
    }
    r->versions.push_back(std::move(sv));
  }
  // Entries written before request digests end here.
  if (!in.at_end() && (!in.bytes16(r->request_digest) || !in.at_end())) {
    return Status::Corruption("command index entry has a malformed request digest");
  }
  return Status::Ok();
}

}  // namespace certsched::eventstore::internal

namespace certsched::eventstore {

bool head_moved(const Status& refusal) {
  return refusal.code() == Status::Code::kConflict && refusal.message().rfind(internal::kHeadMoved, 0) == 0;
}

bool fenced(const Status& refusal) {
  return refusal.code() == Status::Code::kConflict && refusal.message().rfind(internal::kFenced, 0) == 0;
}

}  // namespace certsched::eventstore
