#include "adapters/cli/session.h"

#include <fstream>
#include <sstream>

namespace certsched::cli {

Result<std::unique_ptr<Session>> open_session(const GlobalOptions& g, bool write, const std::string& holder) {
  auto session = std::make_unique<Session>();
  eventstore::StoreOptions options;
  options.mode = write ? eventstore::OpenMode::kReadWrite : eventstore::OpenMode::kReadOnly;
  options.holder = holder;
  auto store = eventstore::open_rocksdb_store(g.store_dir, options);
  if (!store.ok()) return store.status();
  session->store = std::move(store).value();
  std::vector<domain::EventObserver*> observers{&session->outbox};
  if (write) {
    auto projections = projections::ProjectionStore::open(g.store_dir, false, &session->outbox);
    if (!projections.ok()) return projections.status();
    session->projections = std::move(projections).value();
    observers.push_back(session->projections.get());
  }
  auto engine = domain::Engine::open(*session->store, g.store_dir, observers);
  if (!engine.ok()) return engine.status();
  session->engine = std::move(engine).value();
  if (!session->state().initialized()) {
    return Status::InvalidArgument("store " + g.store_dir + " is not initialised: run `certsched init` first");
  }
  return session;
}

Result<std::optional<std::vector<nlohmann::json>>> fresh_projection(const GlobalOptions& g, const std::string& name) {
  using Rows = std::optional<std::vector<nlohmann::json>>;
  eventstore::StoreOptions options;
  options.mode = eventstore::OpenMode::kReadOnly;
  auto store = eventstore::open_rocksdb_store(g.store_dir, options);
  if (!store.ok()) return store.status();
  auto head = (*store)->head();
  if (!head.ok()) return head.status();
  auto projections = projections::ProjectionStore::open(g.store_dir, true);
  if (!projections.ok()) return Rows();  // none yet: replay instead
  auto rows = (*projections)->scan(name);
  auto checkpoint = (*projections)->checkpoint(name);
  if (!rows.ok() || !checkpoint.ok() || checkpoint.value() != head->position) return Rows();
  std::vector<nlohmann::json> out;
  for (const auto& [key, value] : rows.value()) out.push_back(nlohmann::json::parse(value));
  return Rows(std::move(out));
}

Result<std::string> read_input_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(std::string("cannot read the ") + what + " file " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (ss.str().size() > (64u << 20)) return Status::InvalidArgument(std::string("the ") + what + " file is larger than 64 MiB");
  return ss.str();
}

Result<domain::SecretBytes> read_password_file(const std::string& path) {
  auto text = read_input_file(path, "password");
  if (!text.ok()) return text.status();
  std::string p = std::move(text).value();
  while (!p.empty() && (p.back() == '\n' || p.back() == '\r')) p.pop_back();
  if (p.empty()) return Status::InvalidArgument("the password file " + path + " is empty");
  return domain::SecretBytes(std::move(p));
}

int fail(const GlobalOptions& g, const Status& st) { return report_error(g, st); }

}  // namespace certsched::cli
