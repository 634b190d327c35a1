// Turns domain events into store payloads and back.
#pragma once

#include "domain/events.h"
#include "eventstore/event_store.h"

namespace certsched::domain {

eventstore::NewEvent encode_event(const Event& event);

// Corruption naming the record's position when its type or schema version is unknown or
// its payload does not decode exactly.
Result<Event> decode_event(const eventstore::RecordedEvent& record);

}  // namespace certsched::domain
