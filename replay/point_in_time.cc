#include "replay/point_in_time.h"

#include "domain/event_codec.h"

namespace certsched::replay {

Result<PointInTime> state_at(eventstore::EventStore& store, uint64_t position, int64_t as_of_ns) {
  PointInTime out;
  out.state = std::make_unique<domain::DomainState>();
  for (uint64_t next = 1;;) {
    CERTSCHED_ASSIGN_OR_RETURN(auto batch, store.read_all(next, 4096));
    if (batch.empty()) break;
    for (const auto& r : batch) {
      if (position != 0 && r.position > position) return out;
      // Event times follow the clock of whoever appended them; take the log's order as the
      // order of decisions and stop at the first event after the instant.
      if (as_of_ns != 0 && r.time_ns > as_of_ns) return out;
      CERTSCHED_RETURN_IF_ERROR(out.state->apply(r));
      out.position = r.position;
    }
    next = batch.back().position + 1;
  }
  if (position != 0 && out.position < position) {
    return Status::InvalidArgument("position " + std::to_string(position) + " is past the end of the log (" +
                                   std::to_string(out.position) + " events)");
  }
  return out;
}

}  // namespace certsched::replay
