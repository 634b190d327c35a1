#include "adapters/cluster_node.h"

#include <unistd.h>

#include <filesystem>

#include "adapters/evidence_key.h"
#include "adapters/secret_files.h"
#include "adapters/store_session.h"
#include "base/atomic_file.h"
#include "domain/engine.h"
#include "domain/key_vault.h"

namespace certsched::adapters {
namespace fs = std::filesystem;
namespace {

constexpr const char* kEvidenceKeyName = "evidence-key";

Status write_node_secrets(const std::string& dir, const std::string& store_key, eventstore::EventStore& store) {
  CERTSCHED_RETURN_IF_ERROR(base::write_file_atomically(dir + "/store.key", store_key, 0600));
  CERTSCHED_ASSIGN_OR_RETURN(auto vault, domain::KeyVault::open(dir, store.sealed_keys()));
  CERTSCHED_RETURN_IF_ERROR(vault.verify_key_check());
  CERTSCHED_ASSIGN_OR_RETURN(auto evidence, vault.get(kEvidenceKeyName));
  CERTSCHED_RETURN_IF_ERROR(base::write_file_atomically(dir + "/evidence.key", evidence.pkcs8.reveal(), 0600));
  return write_random_secret(dir + "/api-token", 32);
}

}  // namespace

Status share_node_secrets(const std::string& store_dir, eventstore::EventStore& store) {
  CERTSCHED_ASSIGN_OR_RETURN(auto vault, domain::KeyVault::open(store_dir, store.sealed_keys()));
  CERTSCHED_RETURN_IF_ERROR(vault.seal_key_check());
  CERTSCHED_ASSIGN_OR_RETURN(auto pem, base::read_file_if_exists(store_dir + "/evidence.key"));
  if (!pem) return Status::NotFound("store " + store_dir + " has no evidence key");
  return vault.put(kEvidenceKeyName, domain::SealedKey{domain::SecretBytes(std::move(*pem)), domain::SecretBytes("")});
}

Result<JoinedNode> join_cluster(const std::string& uri, const std::string& store_key_file, const std::string& store_dir) {
  std::error_code ec;
  if (fs::exists(store_dir, ec) && !fs::is_empty(store_dir, ec)) {
    return Status::InvalidArgument("directory " + store_dir + " exists and is not empty: a node joins into a new directory");
  }
  CERTSCHED_ASSIGN_OR_RETURN(auto key_text, base::read_file_if_exists(store_key_file));
  if (!key_text) return Status::InvalidArgument("cannot read the store key file " + store_key_file);
  domain::SecretBytes store_key(std::move(*key_text));

  // The database must hold an initialised store before anything is made here.
  eventstore::StoreOptions reading;
  reading.mode = eventstore::OpenMode::kReadOnly;
  CERTSCHED_ASSIGN_OR_RETURN(auto store, eventstore::open_postgres_store(uri, "", reading));
  {
    CERTSCHED_ASSIGN_OR_RETURN(auto engine, domain::Engine::open(*store, store_dir));
    CERTSCHED_ASSIGN_OR_RETURN(const domain::DomainState* state, engine->state());
    if (!state->initialized()) {
      return Status::NotFound("the database at " + uri +
                              " holds no initialised store; run `certsched init --backend URI` on the first node");
    }
  }

  // Made aside and renamed into place whole: a refused key leaves nothing behind.
  const std::string made = store_dir + ".join-" + std::to_string(getpid());
  fs::remove_all(made, ec);
  fs::create_directories(made, ec);
  if (ec) return Status::IOError("cannot create " + made + ": " + ec.message());
  Status st = write_node_secrets(made, store_key.reveal(), *store);
  if (st.ok()) st = eventstore::write_backend_uri(made, uri);
  if (st.ok()) {
    fs::remove(store_dir, ec);  // an empty directory given as the node's
    fs::rename(made, store_dir, ec);
    if (ec) st = Status::IOError("cannot rename " + made + " to " + store_dir + ": " + ec.message());
  }
  if (!st.ok()) {
    fs::remove_all(made, ec);
    if (st.code() == Status::Code::kCorruption || st.IsNotFound()) {
      return Status::InvalidArgument("the store key " + store_key_file +
                                     " does not open the store's sealed keys: it is not the store.key of the store's "
                                     "first node (" + st.message() + ")");
    }
    return st;
  }
  // The node's projections, built from the shared log now rather than at its first command.
  CERTSCHED_ASSIGN_OR_RETURN(auto session, open_store_session(store_dir, true, "certsched join"));
  CERTSCHED_ASSIGN_OR_RETURN(auto head, session->store->head());
  return JoinedNode{fs::absolute(store_dir).lexically_normal().string(), head.position, head.hash_hex};
}

std::string node_name(const std::string& store_dir) {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + store_dir + " (pid " + std::to_string(getpid()) + ")";
}

}  // namespace certsched::adapters
