#include "adapters/cli/session.h"

#include <fstream>
#include <iostream>
#include <sstream>

namespace certsched::cli {

Result<std::unique_ptr<Session>> open_session(const GlobalOptions& g, bool write, const std::string& holder) {
  return adapters::open_store_session(g.store_dir, write, holder);
}

Result<std::optional<std::vector<nlohmann::json>>> fresh_projection(const GlobalOptions& g, const std::string& name) {
  using Rows = std::optional<std::vector<nlohmann::json>>;
  eventstore::StoreOptions options;
  options.mode = eventstore::OpenMode::kReadOnly;
  CERTSCHED_ASSIGN_OR_RETURN(auto store, eventstore::open_store(g.store_dir, options));
  CERTSCHED_ASSIGN_OR_RETURN(auto head, store->head());
  auto projections = projections::ProjectionStore::open(g.store_dir, true);
  if (!projections.ok()) return Rows();  // none yet: replay instead
  auto rows = (*projections)->scan(name);
  auto checkpoint = (*projections)->checkpoint(name);
  if (!rows.ok() || !checkpoint.ok() || checkpoint.value() != head.position) return Rows();
  std::vector<nlohmann::json> out;
  for (const auto& [key, value] : rows.value()) {
    nlohmann::json row = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
    if (row.is_discarded() || !row.is_object()) {
      // The log is the truth: answer from it, and say that the projection needs `replay`.
      std::cerr << "certsched: warning: the persisted " << name << " projection has an unreadable row ("
                << key.substr(0, 64) << "); answering from the log instead (`certsched replay` names the damage)\n";
      return Rows();
    }
    out.push_back(std::move(row));
  }
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
  CERTSCHED_ASSIGN_OR_RETURN(auto text, read_input_file(path, "password"));
  std::string p = std::move(text);
  while (!p.empty() && (p.back() == '\n' || p.back() == '\r')) p.pop_back();
  if (p.empty()) return Status::InvalidArgument("the password file " + path + " is empty");
  return domain::SecretBytes(std::move(p));
}

int fail(const GlobalOptions& g, const Status& st) { return report_error(g, st); }

}  // namespace certsched::cli
