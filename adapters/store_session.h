// An open store, its engine, and the read models the engine feeds: what every command and
// `serve` start from.
#pragma once

#include <memory>
#include <string>

#include "domain/engine.h"
#include "projections/notification_outbox.h"
#include "projections/projection_store.h"

namespace certsched::adapters {

struct StoreSession {
  std::unique_ptr<eventstore::EventStore> store;
  // Declared before the engine, which feeds them.
  projections::NotificationOutbox outbox;
  std::unique_ptr<projections::ProjectionStore> projections;  // writers only
  std::unique_ptr<domain::Engine> engine;
  // The state as the engine last read it: the log up to the session's opening, and up to
  // a command's own events after it. It cannot fail when a clustered store's database has
  // gone away since.
  const domain::DomainState& state() const { return engine->known_state(); }
};

// Writers take the store's writer lock (`holder` names them to a second writer); readers
// open it read-only and work beside a running writer. Both replay the log into the engine.
// A store that is not initialised is refused.
Result<std::unique_ptr<StoreSession>> open_store_session(const std::string& store_dir, bool write,
                                                         const std::string& holder);

}  // namespace certsched::adapters
