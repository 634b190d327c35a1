// The embedded EventStore on RocksDB, as the files rocksdb_*.cc implement it.
// Internal to eventstore/: others use open_rocksdb_store() (event_store.h).
//
// Writes are group-committed above RocksDB: appenders queue up, the first becomes the
// leader, takes every queued request, checks each against the state the earlier ones in
// the group leave behind, and writes the whole group as one WriteBatch with one WAL sync.
// Followers wait for the leader's answer. One writer alone pays one sync per append;
// N concurrent writers share one sync, so durable throughput grows with writers.
#pragma once

#ifndef CERTSCHED_INTERNAL_EVENTSTORE
#error "eventstore/rocksdb_event_store.h is internal to eventstore/ (tests may look inside)"
#endif

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "base/rocksdb_database.h"
#include "eventstore/append_checks.h"
#include "eventstore/event_store.h"
#include "eventstore/hash_chain.h"
#include "eventstore/rocksdb_layout.h"
#include "eventstore/writer_lock.h"

namespace certsched::eventstore::internal {

class RocksDbEventStore final : public EventStore {
 public:
  static Result<std::unique_ptr<EventStore>> open(const std::string& dir,
                                                  const StoreOptions& options);

  Result<AppendResult> append(const AppendRequest& request) override;
  Result<std::vector<RecordedEvent>> read_stream(const std::string& stream,
                                                 uint64_t from_version,
                                                 size_t max_count) override;
  Result<uint64_t> stream_version(const std::string& stream) override;
  Result<std::optional<AppendResult>> command_result(const std::string& command_id,
                                                     const std::string& request_digest) override {
    auto r = committed_command(command_id);
    if (!r.ok() || !r.value()) return r;
    auto retry = as_retry(command_id, request_digest, std::move(*r.value()));
    if (!retry.ok()) return retry.status();
    return std::optional<AppendResult>(std::move(retry).value());
  }
  using EventStore::read_all;
  Status read_all(uint64_t from_position, size_t max_count, std::vector<RecordedEvent>* out) override;
  Result<Head> head() override;
  using EventStore::verify;
  Result<VerifyReport> verify(const std::function<Status(const RecordedEvent&)>& each) override;
  Status for_each_record(const std::function<Status(const StoredRecord&)>& each) override;
  std::unique_ptr<Subscription> subscribe(uint64_t after_position, EventHandler handler) override;
  Status refresh() override;
  StoreStats stats() const override {
    return {appends_committed_.load(), batches_written_.load(), append_nanoseconds_.load()};
  }
  Status back_up_to(const std::string& dir) override { return database_->back_up_to(dir); }

  // Blocks until the log may have grown past `position`, or `timeout` passes.
  void wait_for_append(uint64_t position, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> l(notify_mu_);
    notify_cv_.wait_for(l, timeout, [&] { return committed_position_.load() > position; });
  }
  bool read_only() const { return options_.mode == OpenMode::kReadOnly; }

 private:
  struct PendingAppend {
    const AppendRequest* request;
    Result<AppendResult> result = Status::IOError("append was not run");
    bool done = false;
  };

  // What the group built so far, on top of the committed state.
  struct GroupState {
    uint64_t position;
    ChainHash hash;
    std::unordered_map<std::string, uint64_t> versions;
    std::unordered_map<std::string, AppendResult> commands;
    // Finds versions of streams not yet cached; opened on first need, reused by the group.
    std::unique_ptr<rocksdb::Iterator> stream_index;
  };

  // A group being gathered and written: its members, and what staging them built so far.
  struct Group {
    explicit Group(GroupState start) : state(std::move(start)) {}
    std::vector<PendingAppend*> members;
    size_t staged_members = 0;            // members[0, staged_members) are staged
    std::vector<PendingAppend*> writing;  // staged members with records in the batch
    GroupState state;
    rocksdb::WriteBatch batch;
  };

  RocksDbEventStore(std::unique_ptr<base::RocksDatabase> database, StoreOptions options,
                    std::optional<WriterLock> lock)
      : database_(std::move(database)), db_(database_->db()), options_(std::move(options)),
        lock_(std::move(lock)) {}

  rocksdb::ColumnFamilyHandle* meta() { return database_->families()[0]; }
  rocksdb::ColumnFamilyHandle* log() { return database_->families()[1]; }
  rocksdb::ColumnFamilyHandle* stream_index() { return database_->families()[2]; }
  rocksdb::ColumnFamilyHandle* commands() { return database_->families()[3]; }

  Status check_format(const std::string& dir);

  Status load_head();
  Status check_tail_matches_head();
  void gather_group(std::unique_lock<std::mutex>& queue_lock, Group& group);
  void stage_new_members(Group& group);
  void write_group(Group& group);
  // `me`'s result, its latency counted when it wrote events.
  Result<AppendResult> acknowledge(PendingAppend& me, std::chrono::steady_clock::time_point called);
  Result<AppendResult> stage(const AppendRequest& req, GroupState& state, rocksdb::WriteBatch& batch);
  Result<uint64_t> committed_version(const std::string& stream, GroupState& state);
  // The version of `stream`'s last event: the last version its last stream index entry names.
  Result<uint64_t> indexed_version(rocksdb::Iterator& stream_index, const std::string& stream);
  Result<std::optional<AppendResult>> committed_command(const std::string& command_id);
  // Decodes the value the iterator is at, stored under `position`, into `events`.
  Status decode_value(const rocksdb::Iterator& log, uint64_t position, std::vector<RecordedEvent>* events);
  // Decodes the run holding `position` into `events`: the value stored at or before it.
  Status read_run(rocksdb::Iterator& log, uint64_t position, std::vector<RecordedEvent>* events);

  std::unique_ptr<base::RocksDatabase> database_;
  rocksdb::DB* db_;  // database_'s, for brevity
  StoreOptions options_;
  std::optional<WriterLock> lock_;

  // Group commit queue.
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<PendingAppend*> queue_;
  bool leader_active_ = false;
  // The commit delay (see gather_group): the appenders expected in the next group, and how
  // long the last group took, from its gathering to its commit.
  size_t expected_group_ = 1;
  std::chrono::steady_clock::duration last_group_time_{};

  // Committed state; read and written only by the current leader.
  uint64_t head_position_ = 0;
  ChainHash head_hash_ = kGenesisHash;
  std::unordered_map<std::string, uint64_t> version_cache_;

  // Wakes subscriptions after each commit.
  std::mutex notify_mu_;
  std::condition_variable notify_cv_;
  std::atomic<uint64_t> committed_position_{0};

  std::atomic<uint64_t> appends_committed_{0};
  std::atomic<uint64_t> batches_written_{0};
  std::atomic<uint64_t> append_nanoseconds_{0};
};

}  // namespace certsched::eventstore::internal
