// An open store, its engine, and the read models the engine feeds: what every command
// that touches the domain starts from.
#pragma once

#include <memory>
#include <string>

#include "adapters/cli/cli_output.h"
#include "domain/engine.h"
#include "projections/notification_outbox.h"
#include "projections/projection_store.h"

namespace certsched::cli {

struct Session {
  std::unique_ptr<eventstore::EventStore> store;
  // Declared before the engine, which feeds them.
  projections::NotificationOutbox outbox;
  std::unique_ptr<projections::ProjectionStore> projections;  // writers only
  std::unique_ptr<domain::Engine> engine;
  const domain::DomainState& state() { return *engine->state().value(); }
};

// Writers take the store's writer lock (`holder` names them to a second writer); readers
// open it read-only and work beside a running writer. Both replay the log into the engine.
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
