// The persisted read models, in DIR/projections (a RocksDB database of its own), fed from
// the log only:
//   partners   - each partner's current, pending and history per role (partner show)
//   schedules  - every schedule (schedule list, reports)
//   listeners  - each listener's configuration and pending certificate
//   due        - open, confirmed schedules ordered by activation instant
//   outbox     - the notifications still owed (mirroring the NotificationOutbox)
// Each projection has a checkpoint (the last log position it applied) written in the last
// WriteBatch of the updates it covers, so after a crash it resumes where it was: none
// skipped. Rows are written whole from the state, so rows written ahead of a checkpoint
// that a crash left behind are rewritten alike by the replay. Deleting the directory
// rebuilds them from 0.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "domain/event_observer.h"

namespace certsched::projections {

inline const std::vector<std::string> kProjections = {"partners", "schedules", "listeners", "due", "outbox"};

class NotificationOutbox;

class ProjectionStore : public domain::EventObserver {
 public:
  // The writer opens it for writing (while holding the store's writer lock); readers open
  // it read-only beside the writer.
  // With `outbox` (which must be fed before this store), the owed notifications are
  // persisted too.
  static Result<std::unique_ptr<ProjectionStore>> open(const std::string& store_dir, bool read_only,
                                                       NotificationOutbox* outbox = nullptr);
  ~ProjectionStore() override;

  Status on_event(const eventstore::RecordedEvent& record, const domain::Event& event,
                  const domain::DomainState& after) override;
  Status on_caught_up() override;

  // The last log position applied to `projection` (0 before the first).
  Result<uint64_t> checkpoint(const std::string& projection);
  // An online, consistent copy of the projections into the new directory `dir` (backup).
  Status back_up_to(const std::string& dir);
  Result<std::vector<std::pair<std::string, std::string>>> scan(const std::string& projection);
  // Every projection and checkpoint as text, in key order: equal texts, equal projections.
  Result<std::string> dump();
  // Events applied (not skipped as already covered by a checkpoint) since open.
  uint64_t applied_events() const;

 private:
  struct Impl;
  explicit ProjectionStore(std::unique_ptr<Impl> impl);
  Status flush();
  std::unique_ptr<Impl> impl_;
};

}  // namespace certsched::projections
