#include "eventstore/append_framing.h"

#include "base/clock.h"

namespace certsched::eventstore::internal {

Status check_expected_versions(const AppendRequest& req, const std::vector<uint64_t>& current) {
  for (size_t i = 0; i < req.writes.size(); ++i) {
    const StreamWrite& w = req.writes[i];
    const ExpectedVersion& e = w.expected;
    if (e.kind == ExpectedVersion::Kind::kNoStream && current[i] != 0) {
      return Status::Conflict("stream " + w.stream + " already exists (version " + std::to_string(current[i]) + ")");
    }
    if (e.kind == ExpectedVersion::Kind::kExact && current[i] != e.version) {
      return Status::Conflict("stream " + w.stream + " is at version " + std::to_string(current[i]) +
                              ", expected " + std::to_string(e.version));
    }
  }
  return Status::Ok();
}

AppendResult frame_append(const AppendRequest& req, const std::vector<uint64_t>& current, uint64_t* position,
                          ChainHash* hash, const std::function<void(const FramedRun&)>& store) {
  AppendResult result;
  result.first_position = *position + 1;
  RunHeader run;
  run.time_ns = req.time_ns != 0 ? req.time_ns : base::now_ns();
  run.actor = req.actor;
  run.command_id = req.command_id;
  run.correlation_id = req.correlation_id;
  std::string value;  // one buffer for the append: it keeps its capacity from run to run
  for (size_t i = 0; i < req.writes.size(); ++i) {
    const StreamWrite& w = req.writes[i];
    run.stream = w.stream;
    uint64_t version = current[i];
    // The stream's events go into as few runs as fit the body limit (one, unless the
    // payloads are large).
    for (size_t first = 0, end = 0; first < w.events.size(); first = end) {
      size_t body = run_header_bytes(run) + run_event_bytes(w.events[first]);
      for (end = first + 1; end < w.events.size(); ++end) {
        const size_t more = run_event_bytes(w.events[end]);
        if (body + more > kMaxBodyBytes) break;
        body += more;
      }
      run.first_position = *position + 1;
      run.first_version = version + 1;
      value.clear();
      value.reserve(kFrameHeaderBytes + body + sizeof(ChainHash));
      append_framed_run(run, &w.events[first], end - first, &value);
      *hash = chain_next(*hash, value);
      value.append(reinterpret_cast<const char*>(hash->data()), hash->size());
      *position += end - first;
      version += end - first;
      store(FramedRun{run, i, end - first, version, end == w.events.size(), value});
    }
    result.versions.push_back({w.stream, version});
  }
  result.last_position = *position;
  result.request_digest = req.request_digest;
  return result;
}

}  // namespace certsched::eventstore::internal
