#include "adapters/backup.h"

#include <unistd.h>

#include <filesystem>
#include <map>

#include "adapters/secret_files.h"
#include "adapters/store_session.h"
#include "base/atomic_file.h"
#include "base/openssl_util.h"
#include "base/rocksdb_database.h"
#include "domain/instant.h"
#include "base/clock.h"

namespace certsched::adapters {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFormat = "certsched-backup-1";
constexpr const char* kManifest = "backup.json";
// What a backup holds besides the log and the projections.
constexpr const char* kSecrets[] = {"store.key", "api-token"};

Status io_error(const std::string& what, const std::error_code& ec) {
  return Status::IOError(what + ": " + ec.message());
}

// Every regular file under `dir`, by path relative to it, with its SHA-256.
Result<std::map<std::string, std::string>> file_digests(const std::string& dir, uint64_t* bytes) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    CERTSCHED_ASSIGN_OR_RETURN(auto content, base::read_file_if_exists(it->path().string()));
    if (!content) return Status::IOError("cannot read " + it->path().string());
    if (bytes) *bytes += content->size();
    out[fs::relative(it->path(), dir).string()] = base::sha256_hex(*content);
  }
  if (ec) return io_error("cannot list " + dir, ec);
  return out;
}

// The manifest's own digest: SHA-256 of its text without the "digest" field.
std::string manifest_digest(nlohmann::json manifest) {
  manifest.erase("digest");
  return base::sha256_hex(manifest.dump());
}

Status copy_file(const std::string& from, const std::string& to) {
  CERTSCHED_ASSIGN_OR_RETURN(auto content, base::read_file_if_exists(from));
  if (!content) return Status::IOError("cannot read " + from);
  return base::write_file_atomically(to, *content, 0600);
}

// The store's files besides its databases: its sealed keys, and the secrets if asked.
Status copy_store_files(const std::string& from, const std::string& to, bool with_secrets, size_t* keys) {
  std::error_code ec;
  if (fs::exists(from + "/keys", ec)) {
    fs::create_directory(to + "/keys", ec);
    if (ec) return io_error("cannot create " + to + "/keys", ec);
    fs::permissions(to + "/keys", fs::perms::owner_all, ec);
    for (const auto& f : fs::directory_iterator(from + "/keys", ec)) {
      if (!f.is_regular_file() || f.path().extension() != ".key") continue;  // not a temp file
      CERTSCHED_RETURN_IF_ERROR(copy_file(f.path().string(), to + "/keys/" + f.path().filename().string()));
      if (keys) ++*keys;
    }
    if (ec) return io_error("cannot list " + from + "/keys", ec);
  }
  // A clustered node's database URI (no password in it), and its evidence key, which the
  // database also holds sealed: the node's own part.
  for (const char* name : {"backend", "evidence.key"}) {
    if (fs::exists(from + "/" + name, ec)) CERTSCHED_RETURN_IF_ERROR(copy_file(from + "/" + name, to + "/" + name));
  }
  if (!with_secrets) return Status::Ok();
  for (const char* name : kSecrets) {
    if (fs::exists(from + "/" + name, ec)) CERTSCHED_RETURN_IF_ERROR(copy_file(from + "/" + name, to + "/" + name));
  }
  return Status::Ok();
}

// Removes a directory this command made, on the way out of a failure.
struct Scratch {
  std::string dir;
  bool keep = false;
  ~Scratch() {
    std::error_code ec;
    if (!keep && !dir.empty()) fs::remove_all(dir, ec);
  }
};

std::string parent_of(const std::string& path) {
  const fs::path p = fs::absolute(path).lexically_normal();
  return p.has_parent_path() ? p.parent_path().string() : ".";
}

}  // namespace

Result<BackupReport> write_backup(eventstore::EventStore& store, projections::ProjectionStore& projections,
                                  const std::string& store_dir, const std::string& dest, bool with_secrets) {
  std::error_code ec;
  if (fs::exists(dest, ec)) return Status::InvalidArgument(dest + " exists: a backup goes into a new directory");
  Scratch scratch{dest + ".partial-" + std::to_string(getpid())};
  fs::create_directory(scratch.dir, ec);
  if (ec) return io_error("cannot create " + scratch.dir, ec);
  fs::permissions(scratch.dir, fs::perms::owner_all, ec);

  BackupReport r;
  r.dest = fs::absolute(dest).lexically_normal().string();
  r.with_secrets = with_secrets;
  // The projections first: taken before the log, they are never ahead of it.
  CERTSCHED_RETURN_IF_ERROR(projections.back_up_to(scratch.dir + "/projections"));
  CERTSCHED_ASSIGN_OR_RETURN(auto head, store.head());
  CERTSCHED_ASSIGN_OR_RETURN(auto shared_log, eventstore::backend_uri(store_dir));
  // A clustered store's log (and sealed keys) are the database's to back up, with its own
  // tools; the node's part is its projections and files.
  if (!shared_log) CERTSCHED_RETURN_IF_ERROR(store.back_up_to(scratch.dir + "/events"));
  r.shared_log = shared_log.value_or("");
  CERTSCHED_RETURN_IF_ERROR(copy_store_files(store_dir, scratch.dir, with_secrets, &r.sealed_keys));
  r.position = head.position;
  r.head_hash = head.hash_hex;

  CERTSCHED_ASSIGN_OR_RETURN(auto digests, file_digests(scratch.dir, &r.bytes));
  r.files = digests.size();
  nlohmann::json manifest = {{"format", kFormat},
                             {"created_at", domain::format_instant(base::now_ns())},
                             {"position", r.position},
                             {"head_hash", r.head_hash},
                             {"with_secrets", with_secrets},
                             {"log", r.shared_log.empty() ? "included" : "in the PostgreSQL database"},
                             {"files", digests}};
  manifest["digest"] = manifest_digest(manifest);
  CERTSCHED_RETURN_IF_ERROR(base::write_file_atomically(scratch.dir + "/" + kManifest, manifest.dump(2) + "\n", 0600));
  fs::rename(scratch.dir, dest, ec);
  if (ec) return io_error("cannot move the backup into " + dest, ec);
  scratch.keep = true;
  CERTSCHED_RETURN_IF_ERROR(base::sync_directory(parent_of(dest)));
  return r;
}

Status check_backup(const std::string& backup) {
  std::error_code ec;
  if (!fs::is_directory(backup, ec)) return Status::NotFound("no backup " + backup);
  CERTSCHED_ASSIGN_OR_RETURN(auto text, base::read_file_if_exists(backup + "/" + kManifest));
  if (!text) return Status::Corruption("backup " + backup + " is not complete: it has no " + kManifest);
  const nlohmann::json manifest = nlohmann::json::parse(*text, nullptr, false);
  if (manifest.is_discarded() || !manifest.is_object() || manifest.value("format", "") != kFormat ||
      !manifest.contains("files") || !manifest["files"].is_object() || !manifest.contains("digest")) {
    return Status::Corruption("backup " + backup + ": " + kManifest + " is damaged");
  }
  if (manifest["digest"] != manifest_digest(manifest)) {
    return Status::Corruption("backup " + backup + ": " + kManifest + " was altered");
  }
  CERTSCHED_ASSIGN_OR_RETURN(auto present, file_digests(backup, nullptr));
  present.erase(kManifest);
  for (const auto& [path, digest] : manifest["files"].items()) {
    auto it = present.find(path);
    if (it == present.end()) return Status::Corruption("backup " + backup + ": " + path + " is missing");
    if (it->second != digest) return Status::Corruption("backup " + backup + ": " + path + " was altered");
    present.erase(it);
  }
  if (!present.empty()) {
    return Status::Corruption("backup " + backup + ": " + present.begin()->first + " is not part of the backup");
  }
  return Status::Ok();
}

Result<RestoreReport> restore_backup(const std::string& backup, const std::string& store_dir) {
  std::error_code ec;
  if (fs::exists(store_dir, ec)) {
    return Status::InvalidArgument("store " + store_dir + " exists: restore makes a new one, and overwrites nothing");
  }
  CERTSCHED_RETURN_IF_ERROR(check_backup(backup));
  Scratch scratch{store_dir + ".restoring-" + std::to_string(getpid())};
  fs::create_directory(scratch.dir, ec);
  if (ec) return io_error("cannot create " + scratch.dir, ec);
  fs::permissions(scratch.dir, fs::perms::owner_all, ec);
  // A clustered node's backup has no log: it goes back to the database it names.
  const bool shared_log = fs::exists(backup + "/backend", ec);
  if (!shared_log) CERTSCHED_RETURN_IF_ERROR(base::RocksDatabase::restore(backup + "/events", scratch.dir + "/events"));
  CERTSCHED_RETURN_IF_ERROR(base::RocksDatabase::restore(backup + "/projections", scratch.dir + "/projections"));
  CERTSCHED_RETURN_IF_ERROR(copy_store_files(backup, scratch.dir, /*with_secrets=*/true, nullptr));
  RestoreReport r;
  r.store_dir = fs::absolute(store_dir).lexically_normal().string();
  r.store_key = fs::exists(scratch.dir + "/store.key", ec);
  if (!fs::exists(scratch.dir + "/api-token", ec)) {
    CERTSCHED_RETURN_IF_ERROR(write_random_secret(scratch.dir + "/api-token", 32));
  }
  {
    // The chain, before the store is put in place.
    eventstore::StoreOptions options;
    options.mode = eventstore::OpenMode::kReadWrite;
    options.holder = "certsched restore";
    CERTSCHED_ASSIGN_OR_RETURN(auto store, eventstore::open_store(scratch.dir, options));
    CERTSCHED_ASSIGN_OR_RETURN(auto report, store->verify());
    if (!report.verified) return Status::Corruption("backup " + backup + ": the restored log does not verify: " + report.problem);
  }
  fs::rename(scratch.dir, store_dir, ec);
  if (ec) return io_error("cannot move the restored store into " + store_dir, ec);
  scratch.keep = true;
  CERTSCHED_RETURN_IF_ERROR(base::sync_directory(parent_of(store_dir)));
  // Opening it as a writer brings any projection behind the log up to it.
  CERTSCHED_ASSIGN_OR_RETURN(auto session, open_store_session(store_dir, true, "certsched restore"));
  CERTSCHED_ASSIGN_OR_RETURN(auto head, session->store->head());
  r.position = head.position;
  r.head_hash = head.hash_hex;
  return r;
}

nlohmann::json to_json(const BackupReport& r) {
  nlohmann::json j = {{"backup", r.dest},     {"position", r.position}, {"head_hash", r.head_hash},
                      {"sealed_keys", r.sealed_keys}, {"with_secrets", r.with_secrets}, {"files", r.files},
                      {"bytes", r.bytes}};
  if (!r.shared_log.empty()) {
    j["log"] = r.shared_log;
    j["log_notice"] = "the log and the sealed keys are in the PostgreSQL database at " + r.shared_log +
                      ", which this backup does not copy: back the database up with its own tools (pg_dump, or "
                      "pg_basebackup with WAL archiving; see docs/backups.md). This backup is the node's own part: "
                      "its projections, its files and the database's URI";
  }
  return j;
}

nlohmann::json to_json(const RestoreReport& r) {
  return {{"store", r.store_dir}, {"position", r.position}, {"head_hash", r.head_hash}, {"store_key", r.store_key}};
}

}  // namespace certsched::adapters
