// The audit trail: every event about a partner, a proposal or a certificate, in log order,
// with when, who, through which interface, what happened, and the state it left. Built by
// replaying the log from position 0 through the same state machines as the engine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/events.h"
#include "domain/state.h"
#include "eventstore/event_store.h"

namespace certsched::replay {

struct AuditFilter {
  std::string partner;
  std::string proposal;
  std::string cert;  // alias
};

struct AuditEntry {
  uint64_t position = 0;
  int64_t time_ns = 0;
  std::string actor;      // e.g. "cli:alice", "api:127.0.0.1", "scheduler"
  std::string interface;  // "cli", "api", "scheduler", ...
  std::string stream;
  std::string event;      // the event type
  std::string what;       // one line, readable
  std::string state;      // what the subject is after the event
  std::string command_id;
};

// Every matching event; with an empty filter, every event. NotFound if a named partner,
// proposal or certificate never appears in the log.
Result<std::vector<AuditEntry>> audit_trail(eventstore::EventStore& store, const AuditFilter& filter);

// One readable line for `event` (the record `r`), from the state just after it.
std::string describe_event(const eventstore::RecordedEvent& r, const domain::Event& event, const domain::DomainState& after);

// The JSON shape of an entry, shared by `certsched audit --json` and GET /v1/audit.
nlohmann::json to_json(const AuditEntry& a);

}  // namespace certsched::replay
