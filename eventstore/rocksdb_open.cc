#include "eventstore/rocksdb_event_store.h"

#include <rocksdb/options.h>

#include <algorithm>
#include <filesystem>

#include "base/byte_io.h"
#include "eventstore/record_format.h"


namespace certsched::eventstore::internal {

namespace fs = std::filesystem;

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
    CERTSCHED_ASSIGN_OR_RETURN(auto taken, WriterLock::acquire(dir, options.holder));
    lock.emplace(std::move(taken));
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

}  // namespace certsched::eventstore::internal

namespace certsched::eventstore {

Result<std::unique_ptr<EventStore>> open_rocksdb_store(const std::string& dir,
                                                       const StoreOptions& options) {
  return internal::RocksDbEventStore::open(dir, options);
}

}  // namespace certsched::eventstore
