// The embedded EventStore on RocksDB. Layout: docs/eventstore-format.md.
//
// Writes are group-committed above RocksDB: appenders queue up, the first becomes the
// leader, takes every queued request, checks each against the state the earlier ones in
// the group leave behind, and writes the whole group as one WriteBatch with one WAL sync.
// Followers wait for the leader's answer. One writer alone pays one sync per append;
// N concurrent writers share one sync, so durable throughput grows with writers.
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/options_util.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "base/byte_io.h"
#include "base/clock.h"
#include "base/rocksdb_database.h"
#include "eventstore/event_store.h"
#include "eventstore/hash_chain.h"
#include "base/read_ahead.h"
#include "eventstore/record_format.h"
#include "eventstore/stream_table.h"
#include "eventstore/writer_lock.h"

namespace certsched::eventstore {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCfLog = "log";
constexpr const char* kCfStreamIndex = "stream_index";
constexpr const char* kCfCommands = "commands";
// Format 1 also kept each stream's version under its name here. Later formats read it from
// the stream index, which saves a write per append; opening a format 1 store for writing drops it.
constexpr const char* kCfFormat1StreamHeads = "stream_heads";
constexpr const char* kMetaFormat = "meta/format";
constexpr const char* kMetaHead = "meta/head";
// Format 3 stores runs (record_format.h); formats 1 and 2 stored an event per value, which
// a format 3 reader still takes, so moving a store to format 3 rewrites nothing.
constexpr const char* kFormatVersion = "3";
constexpr const char* kFormat1 = "1";
constexpr const char* kFormat2 = "2";
constexpr size_t kMaxEventsPerAppend = 1'000'000;
// Events handed from the verifying walk to its consumer at a time: enough that handing over
// costs nothing, few enough that the two threads overlap from the start.
constexpr size_t kVerifyBatchEvents = 2048;


// A stream index entry covers a run: the events one append wrote to one stream, which have
// consecutive positions and versions. Its key names the run's last version; its value the
// last event's position, then the run's length when that is more than one (format 1 wrote
// an entry per event, which reads as runs of one).
std::string stream_index_key(const std::string& stream, uint64_t last_version) {
  std::string k = stream;
  k.push_back('\0');
  base::put_u64(k, last_version);
  return k;
}

std::string stream_index_value(uint64_t last_position, uint64_t events) {
  std::string v = base::encode_u64(last_position);
  if (events > 1) base::put_u64(v, events);
  return v;
}

struct IndexedRun {
  uint64_t first_version;
  uint64_t last_version;
  uint64_t last_position;
  uint64_t position_of(uint64_t version) const { return last_position - (last_version - version); }
};

// Reads the entry under the iterator, which must be one of `stream`'s.
Result<IndexedRun> indexed_run(const rocksdb::Iterator& it, const std::string& stream) {
  const rocksdb::Slice key = it.key(), value = it.value();
  if (key.size() != stream.size() + 9 || (value.size() != 8 && value.size() != 16)) {
    return Status::Corruption("stream index entry of " + stream + " is malformed");
  }
  IndexedRun run{0, base::load_u64(key.data() + stream.size() + 1), base::load_u64(value.data())};
  const uint64_t events = value.size() == 16 ? base::load_u64(value.data() + 8) : 1;
  if (events == 0 || events > run.last_version || events > run.last_position) {
    return Status::Corruption("stream index entry of " + stream + " names an impossible run");
  }
  run.first_version = run.last_version - events + 1;
  return run;
}

// A stream index key's stream name. Keys of one stream arrive in version order, so the
// memtable can insert each right after the last one (an insert hint per stream) instead of
// searching the skip list from the top.
class StreamNamePrefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "certsched.StreamNamePrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const void* nul = std::memchr(key.data(), '\0', key.size());
    return rocksdb::Slice(key.data(), static_cast<const char*>(nul) - key.data());
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return std::memchr(key.data(), '\0', key.size()) != nullptr;
  }
};

// Per column family, what makes its writes cheap; see docs/eventstore-format.md.
rocksdb::ColumnFamilyOptions column_family_options(const rocksdb::Options& db_options,
                                                   const std::string& name) {
  rocksdb::ColumnFamilyOptions o(db_options);
  if (name == kCfLog) {
    // Positions only grow: one hint for all keys turns each insert into an append.
    o.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewCappedPrefixTransform(0));
  } else if (name == kCfStreamIndex) {
    o.memtable_insert_with_hint_prefix_extractor = std::make_shared<StreamNamePrefix>();
  } else if (name == kCfCommands) {
    // Every append first looks up its command id, and the answer is almost always "absent":
    // Bloom filters answer that without searching the memtable or reading table blocks.
    o.memtable_prefix_bloom_size_ratio = 0.02;
    o.memtable_whole_key_filtering = true;
    rocksdb::BlockBasedTableOptions table;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  } else if (name == rocksdb::kDefaultColumnFamilyName) {
    // meta/head is rewritten by every append: a hint per key finds its place at once.
    o.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewNoopTransform());
  }
  return o;
}

std::string encode_head(uint64_t position, const ChainHash& hash) {
  std::string v = base::encode_u64(position);
  v.append(reinterpret_cast<const char*>(hash.data()), hash.size());
  return v;
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

Status validate_text(const std::string& value, const char* name, size_t max, bool required) {
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

class RocksDbEventStore;

class PollingSubscription final : public Subscription {
 public:
  PollingSubscription(RocksDbEventStore* store, uint64_t after, EventHandler handler);
  ~PollingSubscription() override;
  Status status() const override {
    std::lock_guard<std::mutex> l(mu_);
    return status_;
  }
  uint64_t position() const override { return position_.load(); }

 private:
  void run();
  RocksDbEventStore* store_;
  EventHandler handler_;
  std::atomic<uint64_t> position_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  Status status_;
  std::thread thread_;
};

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
  std::unique_ptr<Subscription> subscribe(uint64_t after_position, EventHandler handler) override;
  Status refresh() override;
  StoreStats stats() const override {
    return {appends_committed_.load(), batches_written_.load()};
  }

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
};

Result<std::unique_ptr<EventStore>> RocksDbEventStore::open(const std::string& dir,
                                                            const StoreOptions& options) {
  const std::string db_dir = dir + "/events";
  std::error_code ec;
  const bool exists = fs::exists(db_dir + "/CURRENT", ec);
  if (!exists && (options.mode == OpenMode::kReadOnly || !options.create_if_missing)) {
    return Status::NotFound("no certsched store at " + dir +
                            "; run `certsched init` or pass --store DIR");
  }

  std::optional<WriterLock> lock;
  if (options.mode == OpenMode::kReadWrite) {
    if (options.create_if_missing) {
      fs::create_directories(dir, ec);
      if (ec) return Status::IOError("cannot create store directory " + dir + ": " + ec.message());
    }
    auto taken = WriterLock::acquire(dir, options.holder);
    if (!taken.ok()) return taken.status();
    lock.emplace(std::move(taken).value());
  }

  rocksdb::Options db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = options.create_if_missing;
  db_options.max_open_files = -1;  // required by secondary instances; cheap at our sizes
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_options.keep_log_file_num = 3;

  // RocksDB opens a database only with all its column families: ours first, in the order
  // the accessors expect, then any others (a format 1 store's stream heads).
  std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName, kCfLog, kCfStreamIndex,
                                    kCfCommands};
  std::vector<std::string> existing;
  if (exists) {
    CERTSCHED_RETURN_IF_ERROR(base::status_from_rocksdb(
        rocksdb::DB::ListColumnFamilies(db_options, db_dir, &existing), "cannot open store " + dir));
  }
  for (const std::string& name : existing) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const std::string& name : names) {
    cfs.emplace_back(name, column_family_options(db_options, name));
  }

  auto database = base::RocksDatabase::open(
      db_options, db_dir, cfs,
      options.mode == OpenMode::kReadWrite ? base::RocksDatabase::Mode::kReadWrite : base::RocksDatabase::Mode::kReadOnly);
  if (!database.ok()) return database.status();
  std::unique_ptr<RocksDbEventStore> store(
      new RocksDbEventStore(std::move(database).value(), options, std::move(lock)));

  CERTSCHED_RETURN_IF_ERROR(store->check_format(dir));
  CERTSCHED_RETURN_IF_ERROR(store->load_head());
  if (options.mode == OpenMode::kReadWrite) {
    // Appending after a damaged tail would chain new records onto a lie; refuse early.
    CERTSCHED_RETURN_IF_ERROR(store->check_tail_matches_head());
  }
  return std::unique_ptr<EventStore>(std::move(store));
}

// Readers take formats 1 to 3 as they are. A writer stamps a new store with format 3, so
// that an earlier certsched, which cannot read runs, refuses it; it moves a format 1 store
// on by dropping its stream heads, which it would otherwise leave stale (the stream index
// holds the same versions).
Status RocksDbEventStore::check_format(const std::string& dir) {
  std::string format;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta(), kMetaFormat, &format);
  if (!s.ok() && !s.IsNotFound()) return base::status_from_rocksdb(s, "read store format");
  if (s.ok() && format != kFormatVersion && format != kFormat2 && format != kFormat1) {
    return Status::Corruption("store " + dir + " has format version " + format +
                              ", this certsched reads versions " + kFormat1 + " to " +
                              kFormatVersion);
  }
  if (read_only() || format == kFormatVersion) return Status::Ok();
  CERTSCHED_RETURN_IF_ERROR(database_->drop_family(kCfFormat1StreamHeads));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return base::status_from_rocksdb(db_->Put(wo, meta(), kMetaFormat, kFormatVersion), "write format");
}

Status RocksDbEventStore::load_head() {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta(), kMetaHead, &v);
  if (s.IsNotFound()) {
    head_position_ = 0;
    head_hash_ = kGenesisHash;
  } else if (!s.ok()) {
    return base::status_from_rocksdb(s, "read head");
  } else if (v.size() != 8 + sizeof(ChainHash)) {
    return Status::Corruption("head record has " + std::to_string(v.size()) + " bytes, expected 40");
  } else {
    head_position_ = base::load_u64(v.data());
    std::memcpy(head_hash_.data(), v.data() + 8, sizeof(ChainHash));
  }
  committed_position_ = head_position_;
  return Status::Ok();
}

Status RocksDbEventStore::check_tail_matches_head() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log()));
  it->SeekToLast();
  CERTSCHED_RETURN_IF_ERROR(base::status_from_rocksdb(it->status(), "read log tail"));
  uint64_t last = 0;
  if (it->Valid() && it->key().size() == 8) {
    // The last value is a run: the log ends at its last event.
    std::vector<RecordedEvent> run;
    CERTSCHED_RETURN_IF_ERROR(decode_value(*it, base::load_u64(it->key().data()), &run));
    last = run.back().position;
  }
  if (last != head_position_) {
    return Status::Corruption("the log ends at position " + std::to_string(last) +
                              " but its head says " + std::to_string(head_position_) +
                              "; run `certsched replay --verify` to locate the damage");
  }
  return Status::Ok();
}

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
  auto run = indexed_run(index, stream);
  if (!run.ok()) return run.status();
  return run->last_version;
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
  auto previous = committed_command(req.command_id);
  if (!previous.ok()) return previous.status();
  if (previous.value()) return as_retry(req.command_id, req.request_digest, *previous.value());

  // Check every expected version before touching the batch, so a refusal writes nothing.
  std::vector<uint64_t> current(req.writes.size());
  for (size_t i = 0; i < req.writes.size(); ++i) {
    const StreamWrite& w = req.writes[i];
    auto staged = state.versions.find(w.stream);
    if (staged != state.versions.end()) {
      current[i] = staged->second;
    } else {
      auto v = committed_version(w.stream, state);
      if (!v.ok()) return v.status();
      current[i] = v.value();
    }
    const ExpectedVersion& e = w.expected;
    if (e.kind == ExpectedVersion::Kind::kNoStream && current[i] != 0) {
      return Status::Conflict("stream " + w.stream + " already exists (version " +
                              std::to_string(current[i]) + ")");
    }
    if (e.kind == ExpectedVersion::Kind::kExact && current[i] != e.version) {
      return Status::Conflict("stream " + w.stream + " is at version " +
                              std::to_string(current[i]) + ", expected " +
                              std::to_string(e.version));
    }
  }

  AppendResult result;
  result.first_position = state.position + 1;
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
      run.first_position = state.position + 1;
      run.first_version = version + 1;
      value.clear();
      value.reserve(kFrameHeaderBytes + body + sizeof(ChainHash));
      append_framed_run(run, &w.events[first], end - first, &value);
      state.hash = chain_next(state.hash, value);
      value.append(reinterpret_cast<const char*>(state.hash.data()), state.hash.size());
      batch.Put(log(), base::encode_u64(run.first_position), value);
      state.position += end - first;
      version += end - first;
    }
    batch.Put(stream_index(), stream_index_key(w.stream, version),
              stream_index_value(state.position, w.events.size()));
    state.versions[w.stream] = version;
    result.versions.push_back({w.stream, version});
  }
  result.last_position = state.position;
  result.request_digest = req.request_digest;
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
  PendingAppend me{&request};
  std::unique_lock<std::mutex> l(queue_mu_);
  queue_.push_back(&me);
  queue_cv_.wait(l, [&] { return me.done || !leader_active_; });
  if (me.done) return std::move(me.result);

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
  return std::move(me.result);
}

Status RocksDbEventStore::decode_value(const rocksdb::Iterator& log, uint64_t position,
                                       std::vector<RecordedEvent>* events) {
  StoredValue sv;
  CERTSCHED_RETURN_IF_ERROR(parse_stored_value(std::string_view(log.value().data(), log.value().size()), position, &sv));
  return decode_events(sv, position, events);
}

Status RocksDbEventStore::read_run(rocksdb::Iterator& log, uint64_t position, std::vector<RecordedEvent>* events) {
  log.SeekForPrev(base::encode_u64(position));
  CERTSCHED_RETURN_IF_ERROR(base::status_from_rocksdb(log.status(), "read position " + std::to_string(position)));
  const bool found = log.Valid() && log.key().size() == 8;
  const uint64_t first = found ? base::load_u64(log.key().data()) : 0;
  if (found) CERTSCHED_RETURN_IF_ERROR(decode_value(log, first, events));
  if (!found || position - first >= events->size()) {
    return Status::Corruption("record at position " + std::to_string(position) + " is missing");
  }
  return Status::Ok();
}

Result<std::vector<RecordedEvent>> RocksDbEventStore::read_stream(const std::string& stream,
                                                                  uint64_t from_version,
                                                                  size_t max_count) {
  std::vector<RecordedEvent> out;
  rocksdb::ReadOptions ro;
  std::string upper = stream;
  upper.push_back('\x01');
  rocksdb::Slice upper_slice(upper);  // must outlive the iterator
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, stream_index()));
  std::unique_ptr<rocksdb::Iterator> records(db_->NewIterator(rocksdb::ReadOptions(), log()));
  std::vector<RecordedEvent> stored;  // the run last read: the versions that follow are usually in it
  uint64_t expected = from_version == 0 ? 1 : from_version;
  // The first run that ends at or after the first version wanted.
  for (it->Seek(stream_index_key(stream, expected)); it->Valid() && out.size() < max_count;
       it->Next()) {
    auto indexed = indexed_run(*it, stream);
    if (!indexed.ok()) return indexed.status();
    if (indexed->first_version > expected) {
      return Status::Corruption("stream " + stream + " version " + std::to_string(expected) +
                                " is missing from the stream index");
    }
    for (; expected <= indexed->last_version && out.size() < max_count; ++expected) {
      const uint64_t position = indexed->position_of(expected);
      if (stored.empty() || position < stored.front().position || position > stored.back().position) {
        CERTSCHED_RETURN_IF_ERROR(read_run(*records, position, &stored));
      }
      const RecordedEvent& e = stored[position - stored.front().position];
      if (e.stream != stream || e.stream_version != expected) {
        return Status::Corruption("stream " + stream + " version " + std::to_string(expected) +
                                  " does not match the record at position " +
                                  std::to_string(position));
      }
      out.push_back(e);
    }
  }
  CERTSCHED_RETURN_IF_ERROR(base::status_from_rocksdb(it->status(), "read stream " + stream));
  return out;
}

Result<uint64_t> RocksDbEventStore::stream_version(const std::string& stream) {
  std::unique_ptr<rocksdb::Iterator> index(db_->NewIterator(rocksdb::ReadOptions(), stream_index()));
  return indexed_version(*index, stream);
}

Status RocksDbEventStore::read_all(uint64_t from_position, size_t max_count,
                                   std::vector<RecordedEvent>* out) {
  size_t n = 0;
  uint64_t expected = from_position == 0 ? 1 : from_position;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log()));
  // The run holding the first position wanted may begin before it.
  it->SeekForPrev(base::encode_u64(expected));
  if (!it->Valid() && it->status().ok()) it->SeekToFirst();
  std::vector<RecordedEvent> run;
  for (bool first_run = true; it->Valid() && n < max_count; it->Next(), first_run = false) {
    if (it->key().size() != 8) return Status::Corruption("malformed log key");
    const uint64_t first = base::load_u64(it->key().data());
    if (first > expected || (!first_run && first != expected)) {
      return Status::Corruption("record at position " + std::to_string(expected) + " is missing");
    }
    CERTSCHED_RETURN_IF_ERROR(decode_value(*it, first, &run));
    for (; expected - first < run.size() && n < max_count; ++expected, ++n) {
      if (n == out->size()) out->emplace_back();
      std::swap((*out)[n], run[expected - first]);  // the strings' capacity goes round
    }
  }
  CERTSCHED_RETURN_IF_ERROR(base::status_from_rocksdb(it->status(), "read log"));
  out->resize(n);
  return Status::Ok();
}

Result<Head> RocksDbEventStore::head() {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta(), kMetaHead, &v);
  if (s.IsNotFound()) return Head{0, to_hex(kGenesisHash)};
  CERTSCHED_RETURN_IF_ERROR(base::status_from_rocksdb(s, "read head"));
  if (v.size() != 8 + sizeof(ChainHash)) return Status::Corruption("head record is malformed");
  ChainHash h;
  std::memcpy(h.data(), v.data() + 8, h.size());
  return Head{base::load_u64(v.data()), to_hex(h)};
}

Result<VerifyReport> RocksDbEventStore::verify(const std::function<Status(const RecordedEvent&)>& each) {
  // The writer may append while we walk: pin a snapshot so head and log agree. Secondary
  // instances do not support snapshots, but they only change on refresh().
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // one pass over everything: caching its blocks would only evict
  const rocksdb::Snapshot* snapshot = read_only() ? nullptr : db_->GetSnapshot();
  ro.snapshot = snapshot;
  struct Release {
    rocksdb::DB* db;
    const rocksdb::Snapshot* s;
    ~Release() { if (s) db->ReleaseSnapshot(s); }
  } release{db_, snapshot};

  VerifyReport report;
  std::string head_value;
  rocksdb::Status hs = db_->Get(ro, meta(), kMetaHead, &head_value);
  uint64_t head_position = 0;
  ChainHash head_hash = kGenesisHash;
  if (hs.ok() && head_value.size() == 8 + sizeof(ChainHash)) {
    head_position = base::load_u64(head_value.data());
    std::memcpy(head_hash.data(), head_value.data() + 8, sizeof(ChainHash));
  } else if (hs.ok()) {
    report.first_bad_position = 0;
    report.problem = "the head record is malformed";
  } else if (!hs.IsNotFound()) {
    return base::status_from_rocksdb(hs, "read head");
  }
  report.head_hash_hex = to_hex(head_hash);
  if (!report.problem.empty()) return report;

  bool failed = false;
  auto fail = [&](uint64_t position, std::string problem) {
    report.first_bad_position = position;
    report.problem = std::move(problem);
    failed = true;
    return Status::Ok();  // corruption is reported, not an error
  };

  // Keyed by a 64-bit hash of the stream name. Two names with one hash (about one chance
  // in 10^7 with a million streams) would show as a version jump, a false alarm.
  StreamTable streams(std::min<uint64_t>(head_position, uint64_t{1} << 22) / 4);
  const std::hash<std::string_view> stream_hash;
  ChainHash previous = kGenesisHash;
  uint64_t expected = 1;
  std::vector<RecordedEvent> run;  // one for the walk: its strings keep their capacity from run to run
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, log()));
  it->SeekToFirst();
  // Verifies runs until the log ends, a run fails (`failed`), or `batch` holds `limit`
  // events; the verified runs' events are moved into `batch` (if any) from index `*n` on.
  auto walk = [&](std::vector<RecordedEvent>* batch, size_t* n, size_t limit) -> Status {
    for (; it->Valid() && *n < limit; it->Next()) {
      if (it->key().size() != 8) return fail(expected, "malformed log key");
      const uint64_t position = base::load_u64(it->key().data());
      if (position != expected) {
        if (expected > head_position) {
          return fail(expected, "record at position " + std::to_string(position) +
                                    " lies beyond the head at " + std::to_string(head_position));
        }
        return fail(expected, "record at position " + std::to_string(expected) + " is missing");
      }
      StoredValue sv;
      Status st = parse_stored_value(std::string_view(it->value().data(), it->value().size()),
                                     position, &sv);
      if (!st.ok()) return fail(position, st.message());
      // Decoded first, so that the stream's slot in the table comes from memory while the
      // hash is computed; a broken chain is still reported before a run that does not decode.
      const Status decoded = decode_events(sv, position, &run);
      const uint64_t stream_key = decoded.ok() ? stream_hash(run.front().stream) : 0;
      if (decoded.ok()) streams.prefetch(stream_key);
      const ChainHash computed = chain_next(previous, sv.framed_record);
      if (computed != sv.hash) {
        return fail(position, "record at position " + std::to_string(position) +
                                  ": hash chain broken (record altered, replaced or reordered)");
      }
      if (!decoded.ok()) return fail(position, decoded.message());
      // A run's events are one stream's consecutive versions: only its first can jump.
      StreamTable::Seen& seen = streams.at(stream_key);
      if (run.front().stream_version != seen.version + 1) {
        return fail(position, "record at position " + std::to_string(position) + ": stream " +
                                  run.front().stream + " jumps from version " + std::to_string(seen.version) +
                                  " to " + std::to_string(run.front().stream_version));
      }
      seen.version = run.back().stream_version;
      previous = computed;
      report.events = run.back().position;
      expected = report.events + 1;
      if (!batch) continue;
      for (RecordedEvent& e : run) {
        if (*n == batch->size()) batch->emplace_back();
        std::swap((*batch)[(*n)++], e);  // the strings' capacity goes round
      }
    }
    return base::status_from_rocksdb(it->status(), "walk log");
  };

  if (!each) {
    size_t none = 0;
    CERTSCHED_RETURN_IF_ERROR(walk(nullptr, &none, SIZE_MAX));
  } else {
    // The walk (reading, hashing, decoding) runs a batch ahead of `each` on a second core.
    using Batch = std::vector<RecordedEvent>;
    CERTSCHED_RETURN_IF_ERROR(base::read_ahead<Batch>(
        [&](Batch* batch, bool* more) {
          size_t n = 0;
          Status st = walk(batch, &n, kVerifyBatchEvents);
          batch->resize(n);
          *more = st.ok() && !failed && it->Valid();
          return st;
        },
        [&](const Batch& batch) {
          for (const RecordedEvent& e : batch) CERTSCHED_RETURN_IF_ERROR(each(e));
          return Status::Ok();
        }));
  }
  if (failed) return report;
  // The tail, last: a missing end or a head that does not match.
  if (report.events > head_position) {
    (void)fail(head_position + 1, "the log's last run ends at position " + std::to_string(report.events) +
                                      ", beyond the head at " + std::to_string(head_position));
  } else if (report.events < head_position) {
    (void)fail(report.events + 1, "the log ends at position " + std::to_string(report.events) +
                                      " but its head says " + std::to_string(head_position) +
                                      " (records removed from the tail)");
  } else if (previous != head_hash) {
    (void)fail(report.events, "the head hash does not match the last record");
  }
  if (failed) return report;

  report.verified = true;
  return report;
}

Status RocksDbEventStore::refresh() {
  if (!read_only()) return Status::Ok();
  CERTSCHED_RETURN_IF_ERROR(base::status_from_rocksdb(db_->TryCatchUpWithPrimary(), "catch up with the writer"));
  auto h = head();
  if (!h.ok()) return h.status();
  {
    std::lock_guard<std::mutex> l(notify_mu_);
    committed_position_ = h->position;
  }
  notify_cv_.notify_all();
  return Status::Ok();
}

std::unique_ptr<Subscription> RocksDbEventStore::subscribe(uint64_t after_position,
                                                           EventHandler handler) {
  return std::make_unique<PollingSubscription>(this, after_position, std::move(handler));
}

PollingSubscription::PollingSubscription(RocksDbEventStore* store, uint64_t after,
                                         EventHandler handler)
    : store_(store), handler_(std::move(handler)), position_(after) {
  thread_ = std::thread([this] { run(); });
}

PollingSubscription::~PollingSubscription() {
  stop_ = true;
  thread_.join();
}

void PollingSubscription::run() {
  constexpr size_t kBatch = 1024;
  // The writer's own subscriptions wake on each commit; a reader in another process can
  // only learn of new appends by catching up, so it polls.
  const auto idle_wait = std::chrono::milliseconds(store_->read_only() ? 50 : 100);
  while (!stop_) {
    auto batch = store_->read_all(position_ + 1, kBatch);
    Status st = batch.ok() ? Status::Ok() : batch.status();
    if (st.ok() && !batch->empty()) {
      st = handler_(batch.value());
      if (st.ok()) position_ = batch->back().position;
    }
    if (!st.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      status_ = st;
      return;
    }
    if (batch->size() < kBatch) {
      store_->wait_for_append(position_, idle_wait);
      if (store_->read_only()) {
        Status refreshed = store_->refresh();
        if (!refreshed.ok()) {
          std::lock_guard<std::mutex> l(mu_);
          status_ = refreshed;
          return;
        }
      }
    }
  }
}

}  // namespace

Result<std::unique_ptr<EventStore>> open_rocksdb_store(const std::string& dir,
                                                       const StoreOptions& options) {
  return RocksDbEventStore::open(dir, options);
}

}  // namespace certsched::eventstore
