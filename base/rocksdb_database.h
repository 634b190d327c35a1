// An open RocksDB database and everything its opening made: the column family handles,
// and for a read-only open the scratch directory of its secondary instance. All of it is
// released together when the owner goes. Included only by the .cc files that use RocksDB.
#pragma once

#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace certsched::base {

// RocksDB's status as ours: Corruption stays Corruption (exit 4), the rest is an IOError.
// `what` says what was being done ("open store /x").
Status status_from_rocksdb(const rocksdb::Status& s, const std::string& what);

class RocksDatabase {
 public:
  enum class Mode {
    kReadWrite,
    // A secondary instance tails a writer's files without taking its lock, so readers work
    // beside a running writer and on a copied (even read-only) store.
    kReadOnly,
  };

  // Opens `dir` with every family in `families`, in that order (RocksDB opens a database
  // only with all its column families).
  static Result<std::unique_ptr<RocksDatabase>> open(const rocksdb::Options& options, const std::string& dir,
                                                     const std::vector<rocksdb::ColumnFamilyDescriptor>& families,
                                                     Mode mode);
  ~RocksDatabase();
  RocksDatabase(const RocksDatabase&) = delete;
  RocksDatabase& operator=(const RocksDatabase&) = delete;

  rocksdb::DB* db() const { return db_; }
  // The handles, in the order `open` was given the families.
  const std::vector<rocksdb::ColumnFamilyHandle*>& families() const { return handles_; }
  // Drops the family named `name`, if the database has it, and forgets its handle.
  Status drop_family(const std::string& name);
  // An online, consistent copy into `backup_dir` (new) with RocksDB's BackupEngine: the
  // memtables flushed first, every file copied (never hard-linked) with its checksum.
  Status back_up_to(const std::string& backup_dir);
  // Checks every file of such a copy against its checksum, then makes the database `db_dir`
  // (new) from it. Corruption names what is wrong.
  static Status restore(const std::string& backup_dir, const std::string& db_dir);

 private:
  RocksDatabase() = default;
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::string scratch_dir_;  // the secondary instance's, removed on close
};

}  // namespace certsched::base
