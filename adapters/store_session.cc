#include "adapters/store_session.h"

namespace certsched::adapters {

Result<std::unique_ptr<StoreSession>> open_store_session(const std::string& store_dir, bool write,
                                                         const std::string& holder) {
  auto session = std::make_unique<StoreSession>();
  eventstore::StoreOptions options;
  options.mode = write ? eventstore::OpenMode::kReadWrite : eventstore::OpenMode::kReadOnly;
  options.holder = holder;
  CERTSCHED_ASSIGN_OR_RETURN(session->store, eventstore::open_store(store_dir, options));
  std::vector<domain::EventObserver*> observers{&session->outbox};
  if (write) {
    CERTSCHED_ASSIGN_OR_RETURN(session->projections,
                               projections::ProjectionStore::open(store_dir, false, &session->outbox));
    observers.push_back(session->projections.get());
  }
  CERTSCHED_ASSIGN_OR_RETURN(session->engine, domain::Engine::open(*session->store, store_dir, observers));
  if (!session->state().initialized()) {
    return Status::InvalidArgument("store " + store_dir + " is not initialised: run `certsched init` first");
  }
  return session;
}

}  // namespace certsched::adapters
