// What the CLI's commands share beyond the store session: opening it from the global
// options, fresh persisted projections, and reading input files.
#pragma once

#include <memory>
#include <string>

#include "adapters/cli/cli_output.h"
#include "adapters/store_session.h"

namespace certsched::cli {

using Session = adapters::StoreSession;

// adapters::open_store_session on the store of --store.
Result<std::unique_ptr<Session>> open_session(const GlobalOptions& g, bool write, const std::string& holder);

// The rows of a persisted projection, if it is up to date with the log; nullopt when it is
// missing or behind (the caller then replays the log instead).
Result<std::optional<std::vector<nlohmann::json>>> fresh_projection(const GlobalOptions& g, const std::string& name);

// Reads a password file (trailing newline removed). The password is never printed.
Result<domain::SecretBytes> read_password_file(const std::string& path);
Result<std::string> read_input_file(const std::string& path, const char* what);

// A refused command's result: exit code and message, as CLI.md prescribes.
int fail(const GlobalOptions& g, const Status& st);

}  // namespace certsched::cli
