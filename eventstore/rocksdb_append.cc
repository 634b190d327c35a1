#include "eventstore/rocksdb_event_store.h"

#include <algorithm>
#include <thread>

#include "base/byte_io.h"
#include "eventstore/append_framing.h"
#include "eventstore/record_format.h"

namespace certsched::eventstore::internal {

Result<uint64_t> RocksDbEventStore::committed_version(const std::string& stream,
                                                      GroupState& state) {
  auto it = version_cache_.find(stream);
  if (it != version_cache_.end()) return it->second;
  if (!state.stream_index) {
    state.stream_index.reset(db_->NewIterator(rocksdb::ReadOptions(), stream_index()));
  }
  auto version = indexed_version(*state.stream_index, stream);
  if (version.ok()) version_cache_.emplace(stream, version.value());
  return version;
}

Result<uint64_t> RocksDbEventStore::indexed_version(rocksdb::Iterator& index,
                                                    const std::string& stream) {
  index.SeekForPrev(stream_index_key(stream, UINT64_MAX));
  CERTSCHED_RETURN_IF_ERROR(base::status_from_rocksdb(index.status(), "read stream index of " + stream));
  if (!index.Valid()) return uint64_t{0};
  const rocksdb::Slice key = index.key();
  const bool this_stream = key.size() > stream.size() && key[stream.size()] == '\0' &&
                           std::memcmp(key.data(), stream.data(), stream.size()) == 0;
  if (!this_stream) return uint64_t{0};
  CERTSCHED_ASSIGN_OR_RETURN(auto run, indexed_run(index, stream));
  return run.last_version;
}

Result<std::optional<AppendResult>> RocksDbEventStore::committed_command(const std::string& id) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), commands(), id, &v);
  if (s.IsNotFound()) return std::optional<AppendResult>();
  if (!s.ok()) return base::status_from_rocksdb(s, "read command index");
  AppendResult r;
  CERTSCHED_RETURN_IF_ERROR(decode_append_result(v, &r));
  return std::optional<AppendResult>(std::move(r));
}

Result<AppendResult> RocksDbEventStore::stage(const AppendRequest& req, GroupState& state,
                                              rocksdb::WriteBatch& batch) {
  CERTSCHED_RETURN_IF_ERROR(validate_request(req));

  // A command already applied (earlier in this group or committed) returns its result.
  if (auto it = state.commands.find(req.command_id); it != state.commands.end()) {
    return as_retry(req.command_id, req.request_digest, it->second);
  }
  CERTSCHED_ASSIGN_OR_RETURN(auto previous, committed_command(req.command_id));
  if (previous) return as_retry(req.command_id, req.request_digest, *previous);

  if (req.expected_head && *req.expected_head != state.position) {
    return head_moved_refusal(*req.expected_head, state.position);
  }
  // A single writer has no other scheduler to be fenced from: leader_epoch is not checked.

  // Check every expected version before touching the batch, so a refusal writes nothing.
  std::vector<uint64_t> current(req.writes.size());
  for (size_t i = 0; i < req.writes.size(); ++i) {
    const StreamWrite& w = req.writes[i];
    auto staged = state.versions.find(w.stream);
    if (staged != state.versions.end()) {
      current[i] = staged->second;
    } else {
      CERTSCHED_ASSIGN_OR_RETURN(auto v, committed_version(w.stream, state));
      current[i] = v;
    }
  }
  CERTSCHED_RETURN_IF_ERROR(check_expected_versions(req, current));

  AppendResult result = frame_append(req, current, &state.position, &state.hash, [&](const FramedRun& run) {
    batch.Put(log(), base::encode_u64(run.header.first_position), run.value);
    if (run.ends_stream_write) {
      const uint64_t last_position = run.header.first_position + run.events - 1;
      const StreamWrite& w = req.writes[run.write];
      batch.Put(stream_index(), stream_index_key(w.stream, run.last_version),
                stream_index_value(last_position, w.events.size()));
      state.versions[w.stream] = run.last_version;
    }
  });
  batch.Put(commands(), req.command_id, encode_append_result(result));
  state.commands.emplace(req.command_id, result);
  return result;
}

void RocksDbEventStore::stage_new_members(Group& group) {
  for (; group.staged_members < group.members.size(); ++group.staged_members) {
    PendingAppend* p = group.members[group.staged_members];
    p->result = stage(*p->request, group.state, group.batch);
    if (p->result.ok() && !p->result.value().duplicate) group.writing.push_back(p);
  }
}

void RocksDbEventStore::write_group(Group& group) {
  if (group.writing.empty()) return;
  const GroupState& state = group.state;
  group.batch.Put(meta(), kMetaHead, encode_head(state.position, state.hash));
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  Status written = base::status_from_rocksdb(db_->Write(wo, &group.batch), "append");
  if (!written.ok()) {
    // Nothing of the group is committed; the leader's view stays at the old head.
    for (PendingAppend* p : group.writing) p->result = written;
    return;
  }
  head_position_ = state.position;
  head_hash_ = state.hash;
  appends_committed_ += group.writing.size();
  ++batches_written_;
  for (auto& [stream, version] : state.versions) version_cache_[stream] = version;
  {
    std::lock_guard<std::mutex> l(notify_mu_);
    committed_position_ = head_position_;
  }
  notify_cv_.notify_all();
}

// The commit delay. Appenders answered together come back together, each a few
// microseconds later; a leader that took the queue at once would sync the first of them
// alone and leave the rest a whole sync behind. So the leader waits for the appenders it
// can expect: the last group's members, and those that queued while it was written. It
// waits no longer than half the time the last group took, and never over a millisecond (a
// large append takes long, and says nothing of how soon others come). A lone writer never
// waits.
//
// Expecting only as many as the last group held would keep whatever size the groups fell
// to (16 writers settled anywhere from 9 to 16 appends per sync), while the appenders that
// queued during the write are one group's worth of those coming back.
//
// While it waits, the leader stages the appenders that have come, so that the wait is not
// lost; otherwise it yields rather than sleeps: the appenders it waits for need a CPU to
// come back, and waking a sleeping leader would add a wake-up to every group (on a 2-core
// VM, about a fifth of the durable throughput of 16 writers).
void RocksDbEventStore::gather_group(std::unique_lock<std::mutex>& queue_lock, Group& group) {
  const std::chrono::steady_clock::duration longest = std::chrono::milliseconds(1);
  const auto deadline = std::chrono::steady_clock::now() + std::min(last_group_time_ / 2, longest);
  while (true) {
    group.members.insert(group.members.end(), queue_.begin(), queue_.end());
    queue_.clear();
    if (!options_.sync || group.members.size() >= expected_group_ ||
        std::chrono::steady_clock::now() >= deadline) {
      return;
    }
    queue_lock.unlock();
    if (group.staged_members == group.members.size()) std::this_thread::yield();
    stage_new_members(group);
    queue_lock.lock();
  }
}

Result<AppendResult> RocksDbEventStore::append(const AppendRequest& request) {
  if (options_.mode != OpenMode::kReadWrite) {
    return Status::InvalidArgument("the store was opened read-only");
  }
  const auto called = std::chrono::steady_clock::now();
  PendingAppend me{&request};
  std::unique_lock<std::mutex> l(queue_mu_);
  queue_.push_back(&me);
  queue_cv_.wait(l, [&] { return me.done || !leader_active_; });
  if (me.done) return acknowledge(me, called);

  // Lead a group: everything queued so far, this request included, and what the commit
  // delay gathers.
  leader_active_ = true;
  const auto started = std::chrono::steady_clock::now();
  Group group(GroupState{head_position_, head_hash_, {}, {}, nullptr});
  gather_group(l, group);
  l.unlock();
  stage_new_members(group);
  write_group(group);
  l.lock();
  for (PendingAppend* p : group.members) p->done = true;
  expected_group_ = group.members.size() + queue_.size();
  last_group_time_ = std::chrono::steady_clock::now() - started;
  leader_active_ = false;
  l.unlock();
  queue_cv_.notify_all();
  return acknowledge(me, called);
}

Result<AppendResult> RocksDbEventStore::acknowledge(PendingAppend& me, std::chrono::steady_clock::time_point called) {
  if (me.result.ok() && !me.result.value().duplicate) {
    append_nanoseconds_ += static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - called).count());
  }
  return std::move(me.result);
}

}  // namespace certsched::eventstore::internal
