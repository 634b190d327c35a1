// The clustered EventStore: the log in PostgreSQL, shared by several nodes.
// Internal to eventstore/: others use open_postgres_store() or open_store() (event_store.h).
//
// Every append is one transaction that first locks the head row: appends from every node
// take turns there, so positions stay gap-free and the hash chain runs through them in
// order. Stored values are byte for byte the embedded store's (frame, body, chain hash).
#pragma once

#ifndef CERTSCHED_INTERNAL_EVENTSTORE
#error "eventstore/postgres_event_store.h is internal to eventstore/ (tests may look inside)"
#endif

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "eventstore/event_store.h"
#include "eventstore/hash_chain.h"
#include "eventstore/postgres_connection.h"
#include "eventstore/writer_lock.h"

namespace certsched::eventstore::internal {

// Connections to the database, reused. A connection that failed is dropped rather than
// reused, so the next one is made afresh: with a multi-host URI, to whichever server is
// the primary by then.
class PgPool {
 public:
  explicit PgPool(std::string uri) : uri_(std::move(uri)) {}
  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<PgConnection> c) : pool_(pool), c_(std::move(c)) {}
    Lease(Lease&&) = default;
    ~Lease();
    PgConnection* operator->() { return c_.get(); }
    PgConnection& operator*() { return *c_; }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConnection> c_;
  };
  Result<Lease> take();
  const std::string& uri() const { return uri_; }

 private:
  std::string uri_;
  std::mutex mu_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
};

class PgSealedKeys final : public SealedKeyTable {
 public:
  explicit PgSealedKeys(PgPool& pool) : pool_(pool) {}
  Status put(const std::string& name, const std::string& sealed) override;
  Result<std::optional<std::string>> get(const std::string& name) override;
  Status erase(const std::string& name) override;

 private:
  PgPool& pool_;
};

class PostgresEventStore final : public EventStore {
 public:
  SealedKeyTable* sealed_keys() override { return &sealed_keys_; }
  static Result<std::unique_ptr<EventStore>> open(const std::string& uri, const std::string& node_dir,
                                                  const StoreOptions& options);

  Result<AppendResult> append(const AppendRequest& request) override;
  Result<std::vector<RecordedEvent>> read_stream(const std::string& stream, uint64_t from_version,
                                                 size_t max_count) override;
  Result<std::optional<AppendResult>> command_result(const std::string& command_id,
                                                     const std::string& request_digest) override;
  Result<uint64_t> stream_version(const std::string& stream) override;
  using EventStore::read_all;
  Status read_all(uint64_t from_position, size_t max_count, std::vector<RecordedEvent>* out) override;
  Result<Head> head() override;
  using EventStore::verify;
  Result<VerifyReport> verify(const std::function<Status(const RecordedEvent&)>& each) override;
  Status for_each_record(const std::function<Status(const StoredRecord&)>& each) override;
  std::unique_ptr<Subscription> subscribe(uint64_t after_position, EventHandler handler) override;
  Status refresh() override { return Status::Ok(); }  // every read sees the committed log
  StoreStats stats() const override {
    return {appends_committed_.load(), groups_committed_.load(), append_nanoseconds_.load()};
  }
  Status back_up_to(const std::string& dir) override;
  std::unique_ptr<SchedulerLease> elect_scheduler(const std::string& node, std::function<void()> changed) override;

  PgPool& pool() { return pool_; }

 private:
  PostgresEventStore(std::string uri, StoreOptions options, std::optional<WriterLock> lock)
      : pool_(std::move(uri)), options_(std::move(options)), lock_(std::move(lock)) {}
  // An append waiting in this node's queue, and its answer once done.
  struct PendingAppend {
    const AppendRequest* request;
    Result<AppendResult> result = Status::IOError("append was not run");
    bool done = false;
  };
  struct Group;
  // Appends `members` (this node's queue at one moment) in as few transactions as the
  // other nodes' appends allow, and answers each. Called by one thread at a time.
  void append_group(std::vector<PendingAppend*> members);
  // Brings seen_ up to the log's head, in one snapshot.
  Status catch_up(PgConnection& c);
  // A stream's version as seen_ has it (0 for one it has never seen: it has none).
  uint64_t seen_version(const std::string& stream) const;
  // Frames the open members on seen_ into `group`, setting aside those refused. False when
  // one is refused on a seen_ that was not `fresh` (read for this try): read it again first.
  bool stage(Group& group, bool fresh);
  // Sends the staged group and answers the members its outcome settles (all of them once
  // it is appended); the rest stay open for another try.
  Status send(PgConnection& c, Group& group);
  // Checks every stored value from position 1 to the head, in one snapshot and in pages,
  // as verify() reports it; `each` (if any) gets each value that checked, and its events.
  using RunHandler = std::function<Status(std::string_view value, const std::vector<RecordedEvent>& run)>;
  Result<VerifyReport> walk(const RunHandler& each);

  PgPool pool_;
  PgSealedKeys sealed_keys_{pool_};
  // What this node last saw of the log: the head, and every stream's version there (as the
  // embedded store caches them: a few bytes a stream). Appends are framed on it and take one
  // round trip while no other node appends; the database refuses them as stale otherwise,
  // and the node reads what was appended since. Used only by the thread leading a group.
  struct SeenHead {
    bool valid = false;
    uint64_t position = 0;
    ChainHash hash{};
    std::unordered_map<std::string, uint64_t> versions;
  };
  SeenHead seen_;
  // Group commit: appends queue here; the first to find no leader sends everything queued
  // as one transaction while the next group queues (they would take turns at the head
  // row's lock anyway, a WAL flush each).
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<PendingAppend*> queue_;
  bool leader_active_ = false;
  StoreOptions options_;
  std::optional<WriterLock> lock_;
  std::atomic<uint64_t> appends_committed_{0};
  std::atomic<uint64_t> groups_committed_{0};  // transactions that appended
  std::atomic<uint64_t> append_nanoseconds_{0};
};

}  // namespace certsched::eventstore::internal
