// Which kind of store a node directory holds: DIR/backend names a clustered store's
// database; without it the log is the embedded one in DIR/events.
#include <string>

#include "base/atomic_file.h"
#include "eventstore/event_store.h"

namespace certsched::eventstore {
namespace {
std::string backend_file(const std::string& dir) { return dir + "/backend"; }
}  // namespace

Result<std::optional<std::string>> backend_uri(const std::string& dir) {
  CERTSCHED_ASSIGN_OR_RETURN(auto text, base::read_file_if_exists(backend_file(dir)));
  if (!text) return std::optional<std::string>();
  std::string uri = *text;
  while (!uri.empty() && (uri.back() == '\n' || uri.back() == '\r' || uri.back() == ' ')) uri.pop_back();
  if (uri.empty()) return Status::Corruption(backend_file(dir) + " is empty; it should name the store's database");
  return std::optional<std::string>(uri);
}

Status write_backend_uri(const std::string& dir, const std::string& uri) {
  return base::write_file_atomically(backend_file(dir), uri + "\n", 0644);
}

Result<std::unique_ptr<EventStore>> open_store(const std::string& dir, const StoreOptions& options) {
  CERTSCHED_ASSIGN_OR_RETURN(auto uri, backend_uri(dir));
  if (uri) return open_postgres_store(*uri, dir, options);
  return open_rocksdb_store(dir, options);
}

}  // namespace certsched::eventstore
