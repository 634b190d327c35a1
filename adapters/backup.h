// `backup` and `restore` of an embedded store. A backup is one consistent point: the log
// (RocksDB's BackupEngine, files copied with their checksums), the persisted projections
// taken before it (so never ahead of it), and the sealed keys; the store key and the API
// token only when asked. `backup.json` lists every file with its SHA-256, so that restore
// names the first altered or missing one. A backup is written beside DEST and renamed into
// place when whole: an interrupted one never looks complete.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "base/status.h"
#include "eventstore/event_store.h"
#include "projections/projection_store.h"

namespace certsched::adapters {

struct BackupReport {
  std::string dest;
  uint64_t position = 0;
  std::string head_hash;
  size_t sealed_keys = 0;
  bool with_secrets = false;
  size_t files = 0;
  uint64_t bytes = 0;
  std::string shared_log;  // a clustered node's database URI: its log is not in the backup
};

// Backs up the store `store_dir` (its open log and projections) into the new directory
// `dest`. REQUIRES: nothing appends meanwhile (the caller holds serve's engine lock, or the
// store's writer lock).
Result<BackupReport> write_backup(eventstore::EventStore& store, projections::ProjectionStore& projections,
                                  const std::string& store_dir, const std::string& dest, bool with_secrets);

struct RestoreReport {
  std::string store_dir;
  uint64_t position = 0;
  std::string head_hash;
  bool store_key = false;  // the backup carried the store key
};

// Every file of `backup` against backup.json: Corruption naming the first one missing,
// altered or foreign, or backup.json itself.
Status check_backup(const std::string& backup);

// Makes the new store `store_dir` from `backup`: checks it, restores the log and
// projections, verifies the hash chain (Corruption naming the first bad position), and
// only then puts the store in place. A new API token is made when the backup has none.
Result<RestoreReport> restore_backup(const std::string& backup, const std::string& store_dir);

nlohmann::json to_json(const BackupReport& r);
nlohmann::json to_json(const RestoreReport& r);

}  // namespace certsched::adapters
