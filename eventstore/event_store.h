// The event store: named streams of events in one append-only, hash-chained global log.
//
// This is the only interface the rest of certsched sees. RocksDB is the embedded backend
// (open_rocksdb_store); a clustered backend implements the same interface. Nothing here
// names RocksDB types, so this header stays cheap to include.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace certsched::eventstore {

// What the writer expects a stream's version to be before its events are appended.
struct ExpectedVersion {
  enum class Kind { kAny, kNoStream, kExact };
  Kind kind = Kind::kAny;
  uint64_t version = 0;  // only for kExact; version 0 means "no events yet"

  static ExpectedVersion Any() { return {Kind::kAny, 0}; }
  static ExpectedVersion NoStream() { return {Kind::kNoStream, 0}; }
  static ExpectedVersion Exactly(uint64_t v) { return {Kind::kExact, v}; }
};

// An event as the domain hands it to the store: its type name, the schema version of its
// payload, and the payload bytes (cereal-encoded by domain/). The store does not interpret
// the payload.
struct NewEvent {
  std::string type;
  uint16_t schema_version = 1;
  std::string payload;
};

// Events for one stream inside an append.
struct StreamWrite {
  std::string stream;
  ExpectedVersion expected;
  std::vector<NewEvent> events;
};

// One atomic append: every write lands, or none does. A command usually touches one
// stream; a proposal touches one stream per schedule it creates.
struct AppendRequest {
  std::vector<StreamWrite> writes;
  std::string command_id;      // required; the same id again returns the first result
  // What the command asked, digested (at most 64 bytes; may be empty). Kept with the result:
  // the same command id with another digest is refused rather than answered with a result
  // that belongs to a different request.
  std::string request_digest;
  std::string actor;           // who asked, e.g. "cli:alice" or "api:token"
  std::string correlation_id;  // e.g. the proposal id; may be empty
  int64_t time_ns = 0;         // UTC nanoseconds; 0 means "now" by the system clock
  // Append only if the log's head is still at this position: a command validated against
  // the state at head N must not land on a log that another node has moved on. Refused
  // with a head_moved() Conflict otherwise.
  std::optional<uint64_t> expected_head;
  // The scheduler's leader epoch (a clustered store's fencing token), or 0 for any other
  // command. Refused with a fenced() Conflict when the store's epoch is another.
  uint64_t leader_epoch = 0;
};

// Whether a refused append was refused for the reasons above.
bool head_moved(const Status& refusal);
bool fenced(const Status& refusal);

struct StreamVersion {
  std::string stream;
  uint64_t version = 0;
};

struct AppendResult {
  uint64_t first_position = 0;
  uint64_t last_position = 0;
  std::vector<StreamVersion> versions;  // each written stream's version after the append
  bool duplicate = false;               // true when command_id had already been applied
  std::string request_digest;           // the digest the command id was first applied with
};

// An event as stored.
struct RecordedEvent {
  uint64_t position = 0;        // global, gap-free, starting at 1
  std::string stream;
  uint64_t stream_version = 0;  // 1 for a stream's first event
  std::string type;
  uint16_t schema_version = 0;
  int64_t time_ns = 0;
  std::string actor;
  std::string command_id;
  std::string correlation_id;
  std::string payload;
};

struct Head {
  uint64_t position = 0;  // 0 for an empty log
  std::string hash_hex;   // 64 hex digits; all zeros for an empty log
};

struct VerifyReport {
  uint64_t events = 0;  // records that verified before the first problem (all, if none)
  std::string head_hash_hex;
  bool verified = false;
  std::optional<uint64_t> first_bad_position;
  std::string problem;  // empty when verified
};

// A stored record as the hash chain covers it: chain(n) = SHA-256(chain(n-1) || framed),
// chain(0) = 32 zero bytes (docs/eventstore-format.md). One record holds a run of events.
struct StoredRecord {
  std::string framed;  // frame header and body, exactly as stored
  std::string chain_hash_hex;
  std::vector<RecordedEvent> events;
};

// Checks a framed record (as StoredRecord::framed) without a store: its frame (sizes,
// version, CRC-32C) and its events, which it decodes into `events`. Corruption naming
// `position`, the position the record must start at, otherwise.
Status decode_framed_record(std::string_view framed, uint64_t position, std::vector<RecordedEvent>* events);

// Receives events in position order. A non-ok Status stops the subscription.
using EventHandler = std::function<Status(const std::vector<RecordedEvent>&)>;

// A running subscription; destroying it stops it and waits for its thread.
class Subscription {
 public:
  virtual ~Subscription() = default;
  // The last error that stopped the subscription, or Ok while it runs.
  virtual Status status() const = 0;
  // Position of the last event handed to the handler.
  virtual uint64_t position() const = 0;
};

// Counters since the store was opened, for benchmarks and tests of group commit.
struct StoreStats {
  uint64_t appends_committed = 0;  // appends that wrote events (not refused, not duplicate)
  uint64_t batches_written = 0;    // WriteBatches written; one WAL sync each when syncing
  // The time those appends took, each from its call to its acknowledgment, added up.
  uint64_t append_nanoseconds = 0;
};

// Sealed private keys kept beside a clustered log, so that every node reads the same. They
// are opaque bytes here, sealed by domain/key_vault.h before they arrive.
class SealedKeyTable {
 public:
  virtual ~SealedKeyTable() = default;
  virtual Status put(const std::string& name, const std::string& sealed) = 0;
  virtual Result<std::optional<std::string>> get(const std::string& name) = 0;
  virtual Status erase(const std::string& name) = 0;
};

// Which node runs the scheduler (activations, listener installs, mail) among the nodes
// that share a clustered log; on an embedded store, always the one node.
class SchedulerLease {
 public:
  virtual ~SchedulerLease() = default;
  // Whether this node schedules now.
  virtual bool leads() const = 0;
  // The leader epoch this node schedules under: its fencing token (AppendRequest::
  // leader_epoch), which the clustered store refuses once another node has taken over.
  // 0 on an embedded store, which has nobody to be fenced from.
  virtual uint64_t epoch() const = 0;
  // What GET /v1/health says: "single" (embedded), "leader" or "follower".
  virtual std::string role() const = 0;
  // After a fenced refusal: stop leading at once; the node may be elected again later.
  virtual void step_down() = 0;
  // Whether the log is a shared database (a clustered store): an IOError then means the
  // database is away for a while (failing over, restarting) and is waited out, where an
  // embedded store's IOError is this machine's disk failing.
  virtual bool shared() const = 0;
  // Why this node cannot reach the shared log now (its election session's last error), so
  // that it neither schedules nor can take over; empty while it can, and always on an
  // embedded store.
  virtual std::string unreachable() const { return {}; }
};

class EventStore {
 public:
  virtual ~EventStore() = default;

  // Takes part in the scheduler election under the name `node`; `changed` is called, from
  // another thread, whenever this node gains or loses the role. The embedded store's node
  // always leads.
  virtual std::unique_ptr<SchedulerLease> elect_scheduler(const std::string& node, std::function<void()> changed);

  // The clustered store's sealed key table; nullptr for the embedded store, whose sealed
  // keys are files in the node's directory.
  virtual SealedKeyTable* sealed_keys() { return nullptr; }

  // Appends atomically and durably (when the store was opened with sync). Refuses the
  // whole request, writing nothing, on an expected-version conflict or bad input.
  // REQUIRES: the store was opened for writing.
  virtual Result<AppendResult> append(const AppendRequest& request) = 0;

  // Events of `stream` with version >= from_version, at most max_count of them.
  virtual Result<std::vector<RecordedEvent>> read_stream(const std::string& stream,
                                                         uint64_t from_version,
                                                         size_t max_count) = 0;

  // The result of an earlier append with this command id, if there was one. Lets a caller
  // answer a retried command before re-validating it against a state it already changed.
  // Refused as a conflict, as append() would refuse it, when both the earlier append and
  // `request_digest` have digests and they differ.
  virtual Result<std::optional<AppendResult>> command_result(const std::string& command_id,
                                                             const std::string& request_digest = "") = 0;

  // The current version of `stream` (0 if it has no events).
  virtual Result<uint64_t> stream_version(const std::string& stream) = 0;

  // Events with position >= from_position, at most max_count of them.
  Result<std::vector<RecordedEvent>> read_all(uint64_t from_position, size_t max_count) {
    std::vector<RecordedEvent> out;
    CERTSCHED_RETURN_IF_ERROR(read_all(from_position, max_count, &out));
    return out;
  }
  // The same into `out` (resized to what was read), reusing its records' strings: a walk
  // over a long log pages through one buffer instead of allocating every field of every
  // record.
  virtual Status read_all(uint64_t from_position, size_t max_count, std::vector<RecordedEvent>* out) = 0;

  virtual Result<Head> head() = 0;

  // Walks the whole log: framing, checksums, positions, stream versions, hash chain and
  // the recorded head. Names the first bad position. Corruption is a report, not an error;
  // an error means the walk itself could not run.
  Result<VerifyReport> verify() { return verify(nullptr); }
  // The same walk, handing each record to `each` once it has verified, so that a replay
  // reads the log once. The tail is checked last: trust what `each` saw only if the report
  // says verified. A non-ok Status from `each` stops the walk and is returned.
  virtual Result<VerifyReport> verify(const std::function<Status(const RecordedEvent&)>& each) = 0;

  // Catches up from `after_position`, then follows new appends (from this process, or
  // from the writing process when opened read-only) until the subscription is destroyed.
  virtual std::unique_ptr<Subscription> subscribe(uint64_t after_position,
                                                  EventHandler handler) = 0;

  // Read-only stores: see what the writer has appended since. A no-op for the writer.
  virtual Status refresh() = 0;

  virtual StoreStats stats() const = 0;
  // Every stored record from the first to the head, in order, each checked (frame, chain)
  // as it is read: Corruption naming the first bad position. For the evidence pack.
  virtual Status for_each_record(const std::function<Status(const StoredRecord&)>& each) = 0;
  // An online, consistent copy of the log into the new directory `dir`, for `backup`.
  virtual Status back_up_to(const std::string& dir) = 0;
};

enum class OpenMode {
  kReadWrite,  // the single writer; takes the store's writer lock
  kReadOnly,   // any number of readers, also while a writer runs, also on a copy
};

struct StoreOptions {
  OpenMode mode = OpenMode::kReadWrite;
  bool create_if_missing = false;
  // Acknowledge appends only after the WAL is synced. Benchmarks turn it off to measure
  // the unsynced path; certsched itself never does.
  bool sync = true;
  // Written into the writer lock so that a second writer can be told who holds it.
  std::string holder = "certsched";
};

// Opens (or creates) the RocksDB-backed store in directory `dir`.
Result<std::unique_ptr<EventStore>> open_rocksdb_store(const std::string& dir,
                                                       const StoreOptions& options);

// Opens the clustered store whose log is in the PostgreSQL database at `uri` (a libpq URI
// without a password), for the node whose directory is `node_dir` (a writer takes its
// writer lock there). With create_if_missing the schema is created or migrated.
Result<std::unique_ptr<EventStore>> open_postgres_store(const std::string& uri, const std::string& node_dir,
                                                        const StoreOptions& options);

// The store of node directory `dir`, whichever kind it is: clustered when `dir` names a
// backend (backend_uri), embedded otherwise.
Result<std::unique_ptr<EventStore>> open_store(const std::string& dir, const StoreOptions& options);
// The PostgreSQL URI a clustered node's directory names (DIR/backend), or nullopt for an
// embedded store.
Result<std::optional<std::string>> backend_uri(const std::string& dir);
// Records `uri` as `dir`'s backend (DIR/backend, written atomically), for init and join.
Status write_backend_uri(const std::string& dir, const std::string& uri);

// Limits checked on append (InvalidArgument) and on read (Corruption).
inline constexpr size_t kMaxStreamNameBytes = 256;
inline constexpr size_t kMaxTypeNameBytes = 128;
inline constexpr size_t kMaxIdBytes = 256;           // command id, correlation id, actor
inline constexpr size_t kMaxDigestBytes = 64;        // request digest
inline constexpr size_t kMaxPayloadBytes = 1 << 20;  // 1 MiB per event

}  // namespace certsched::eventstore
