#include "base/rocksdb_database.h"

#include <rocksdb/utilities/backup_engine.h>

#include <stdlib.h>

#include <filesystem>

namespace certsched::base {

Status status_from_rocksdb(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status::Corruption(what + ": " + s.ToString());
  if (s.IsNotFound()) return Status::NotFound(what + ": " + s.ToString());
  return Status::IOError(what + ": " + s.ToString());
}

Result<std::unique_ptr<RocksDatabase>> RocksDatabase::open(const rocksdb::Options& options, const std::string& dir,
                                                           const std::vector<rocksdb::ColumnFamilyDescriptor>& families,
                                                           Mode mode) {
  std::unique_ptr<RocksDatabase> database(new RocksDatabase());
  rocksdb::Status s;
  if (mode == Mode::kReadWrite) {
    s = rocksdb::DB::Open(options, dir, families, &database->handles_, &database->db_);
  } else {
    std::string scratch = (std::filesystem::temp_directory_path() / "certsched-reader-XXXXXX").string();
    if (::mkdtemp(scratch.data()) == nullptr) {
      return Status::IOError("cannot create a scratch directory to read " + dir);
    }
    database->scratch_dir_ = scratch;
    s = rocksdb::DB::OpenAsSecondary(options, dir, scratch, families, &database->handles_, &database->db_);
  }
  if (!s.ok()) return status_from_rocksdb(s, "cannot open " + dir);
  return database;
}

RocksDatabase::~RocksDatabase() {
  if (db_ != nullptr) {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    delete db_;
  }
  if (!scratch_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(scratch_dir_, ec);
  }
}

Status RocksDatabase::drop_family(const std::string& name) {
  for (auto it = handles_.begin(); it != handles_.end(); ++it) {
    if ((*it)->GetName() != name) continue;
    CERTSCHED_RETURN_IF_ERROR(status_from_rocksdb(db_->DropColumnFamily(*it), "drop column family " + name));
    db_->DestroyColumnFamilyHandle(*it);
    handles_.erase(it);
    break;
  }
  return Status::Ok();
}

Status RocksDatabase::back_up_to(const std::string& backup_dir) {
  rocksdb::BackupEngineOptions options(backup_dir);
  options.share_table_files = false;  // one self-contained copy, not an incremental series
  rocksdb::BackupEngine* raw = nullptr;
  CERTSCHED_RETURN_IF_ERROR(status_from_rocksdb(rocksdb::BackupEngine::Open(options, rocksdb::Env::Default(), &raw),
                                                "open backup " + backup_dir));
  std::unique_ptr<rocksdb::BackupEngine> engine(raw);
  rocksdb::CreateBackupOptions create;
  create.flush_before_backup = true;
  return status_from_rocksdb(engine->CreateNewBackup(create, db_), "back up to " + backup_dir);
}

Status RocksDatabase::restore(const std::string& backup_dir, const std::string& db_dir) {
  rocksdb::BackupEngineOptions options(backup_dir);
  options.share_table_files = false;
  rocksdb::BackupEngineReadOnly* raw = nullptr;
  const rocksdb::Status opened = rocksdb::BackupEngineReadOnly::Open(options, rocksdb::Env::Default(), &raw);
  if (!opened.ok()) return Status::Corruption("backup " + backup_dir + " cannot be read: " + opened.ToString());
  std::unique_ptr<rocksdb::BackupEngineReadOnly> engine(raw);
  std::vector<rocksdb::BackupInfo> backups;
  engine->GetBackupInfo(&backups);
  if (backups.size() != 1) return Status::Corruption("backup " + backup_dir + " holds " + std::to_string(backups.size()) + " copies, not one");
  const rocksdb::Status verified = engine->VerifyBackup(backups[0].backup_id, /*verify_with_checksum=*/true);
  if (!verified.ok()) return Status::Corruption("backup " + backup_dir + " does not verify: " + verified.ToString());
  return status_from_rocksdb(engine->RestoreDBFromBackup(backups[0].backup_id, db_dir, db_dir), "restore " + db_dir);
}

}  // namespace certsched::base
