// Whether a listener can install its pending server certificate, and who or what it waits
// for: a pure function of the domain state, so that views and reports need no engine.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "domain/state.h"

namespace certsched::domain {

struct Blocker {
  std::string partner;
  std::string schedule_id;  // empty when the partner has no schedule for it
  std::string reason;
};

struct ListenerReadiness {
  Listener listener = Listener::kHTTP;
  std::optional<CertRef> pending;
  std::string pending_proposal;
  bool ready = false;
  // Partners that block the install (PRODUCT.md, "Server certificates"): those with no
  // schedule for the pending certificate, or one still awaiting confirmation.
  std::vector<Blocker> blockers;
  // Confirmed schedules that are not due yet: waiting for their time, or for their partner
  // email to be accepted. They say why the install waits; they do not block it.
  std::vector<Blocker> waits;
  std::vector<std::string> schedule_ids;  // the schedules that activate with the install
};

// The readiness of listener `l` at `now_ns`; not ready, with no blockers, when it has no
// pending certificate.
ListenerReadiness listener_readiness(const DomainState& state, Listener l, int64_t now_ns);

}  // namespace certsched::domain
