#include "domain/listener_readiness.h"

#include "domain/instant.h"

namespace certsched::domain {

using statemachines::ScheduleState;

ListenerReadiness listener_readiness(const DomainState& state, Listener lid, int64_t now_ns) {
  ListenerReadiness r;
  r.listener = lid;
  const ListenerRecord* l = state.listener(lid);
  if (!l || !l->pending) return r;
  r.pending = l->pending;
  r.pending_proposal = l->pending_proposal;
  for (const auto& [id, partner] : state.partners()) {
    if (listener_for(partner.protocol) != lid) continue;
    const ScheduleRecord* s = state.open_schedule(id, Role::kLocalSslServer);
    const bool uses = partner.current[static_cast<size_t>(Role::kLocalSslServer)].has_value();
    if (!uses && !s) continue;  // not a user of the listener, and not forced onto it
    if (!s || s->proposed.fingerprint != l->pending->fingerprint) {
      r.blockers.push_back({id, s ? s->proposed.schedule_id : "", "has no schedule for " + l->pending->alias});
      continue;
    }
    const std::string& schedule_id = s->proposed.schedule_id;
    switch (s->state()) {
      case ScheduleState::kProposed:
        r.blockers.push_back({id, schedule_id, "awaits confirmation of proposal " + s->proposed.proposal_id});
        continue;
      case ScheduleState::kConfirmed:
      case ScheduleState::kEmailed:
        r.waits.push_back({id, schedule_id, "waits for its partner email to be accepted"});
        continue;
      case ScheduleState::kPending:
        break;
      default:
        r.blockers.push_back({id, schedule_id, std::string("is ") + statemachines::to_string(s->state())});
        continue;
    }
    if (s->proposed.activate_at_ns > now_ns) {
      r.waits.push_back({id, schedule_id, "activates at " + format_instant(s->proposed.activate_at_ns)});
      continue;
    }
    r.schedule_ids.push_back(schedule_id);
  }
  r.ready = r.blockers.empty() && r.waits.empty() && !r.schedule_ids.empty();
  return r;
}

}  // namespace certsched::domain
