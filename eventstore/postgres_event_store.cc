#include "eventstore/postgres_event_store.h"

#include <chrono>
#include <cstring>
#include <filesystem>

#include "eventstore/append_checks.h"
#include "eventstore/postgres_schema.h"

namespace certsched::eventstore::internal {

PgPool::Lease::~Lease() {
  if (c_ && c_->healthy() && c_->idle()) {
    std::lock_guard<std::mutex> l(pool_->mu_);
    pool_->idle_.push_back(std::move(c_));
  }
}

Result<PgPool::Lease> PgPool::take() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<PgConnection> c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(c));
    }
  }
  CERTSCHED_ASSIGN_OR_RETURN(auto c, PgConnection::connect(uri_));
  // A node paused in the middle of an append holds the head row; the server ends its
  // transaction after this long, so that the other nodes wait no longer.
  CERTSCHED_RETURN_IF_ERROR(c->script("SET idle_in_transaction_session_timeout = '5s'"));
  return Lease(this, std::move(c));
}

Result<std::unique_ptr<EventStore>> PostgresEventStore::open(const std::string& uri, const std::string& node_dir,
                                                             const StoreOptions& options) {
  std::optional<WriterLock> lock;
  if (options.mode == OpenMode::kReadWrite && !node_dir.empty()) {
    std::error_code ec;
    if (options.create_if_missing) std::filesystem::create_directories(node_dir, ec);
    CERTSCHED_ASSIGN_OR_RETURN(auto taken, WriterLock::acquire(node_dir, options.holder));
    lock.emplace(std::move(taken));
  }
  std::unique_ptr<PostgresEventStore> store(new PostgresEventStore(uri, options, std::move(lock)));
  CERTSCHED_ASSIGN_OR_RETURN(auto c, store->pool_.take());
  const SchemaAction action = options.mode != OpenMode::kReadWrite ? SchemaAction::kCheck
                              : options.create_if_missing           ? SchemaAction::kCreate
                                                                    : SchemaAction::kMigrate;
  CERTSCHED_RETURN_IF_ERROR(prepare_pg_schema(*c, action));
  return std::unique_ptr<EventStore>(std::move(store));
}

Result<std::optional<AppendResult>> PostgresEventStore::command_result(const std::string& command_id,
                                                                       const std::string& request_digest) {
  CERTSCHED_ASSIGN_OR_RETURN(auto c, pool_.take());
  CERTSCHED_ASSIGN_OR_RETURN(auto rows, c->run("SELECT result FROM certsched.log WHERE command_id = $1::text",
                                               {PgParam::bytes_of(command_id)}));
  if (rows.size() == 0) return std::optional<AppendResult>();
  AppendResult first;
  CERTSCHED_RETURN_IF_ERROR(decode_append_result(rows.bytes(0, 0), &first));
  CERTSCHED_ASSIGN_OR_RETURN(auto retry, as_retry(command_id, request_digest, std::move(first)));
  return std::optional<AppendResult>(std::move(retry));
}

Status PgSealedKeys::put(const std::string& name, const std::string& sealed) {
  CERTSCHED_ASSIGN_OR_RETURN(auto c, pool_.take());
  return c->run("INSERT INTO certsched.sealed_keys VALUES ($1::text, $2::bytea) "
                "ON CONFLICT (fingerprint) DO UPDATE SET sealed = excluded.sealed",
                {PgParam::bytes_of(name), PgParam::bytes_of(sealed)})
      .status();
}

Result<std::optional<std::string>> PgSealedKeys::get(const std::string& name) {
  CERTSCHED_ASSIGN_OR_RETURN(auto c, pool_.take());
  CERTSCHED_ASSIGN_OR_RETURN(auto rows, c->run("SELECT sealed FROM certsched.sealed_keys WHERE fingerprint = $1::text",
                                               {PgParam::bytes_of(name)}));
  if (rows.size() == 0) return std::optional<std::string>();
  return std::optional<std::string>(std::string(rows.bytes(0, 0)));
}

Status PgSealedKeys::erase(const std::string& name) {
  CERTSCHED_ASSIGN_OR_RETURN(auto c, pool_.take());
  return c->run("DELETE FROM certsched.sealed_keys WHERE fingerprint = $1::text", {PgParam::bytes_of(name)}).status();
}

Status PostgresEventStore::back_up_to(const std::string&) {
  return Status::InvalidArgument(
      "the log of a clustered store is in PostgreSQL (" + pool_.uri() +
      "): back it up with the database's own tools (pg_dump, or pg_basebackup with WAL archiving); see docs/backups.md");
}

}  // namespace certsched::eventstore::internal

namespace certsched::eventstore {

Result<std::unique_ptr<EventStore>> open_postgres_store(const std::string& uri, const std::string& node_dir,
                                                        const StoreOptions& options) {
  return internal::PostgresEventStore::open(uri, node_dir, options);
}

}  // namespace certsched::eventstore
