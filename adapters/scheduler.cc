#include "adapters/scheduler.h"

#include <algorithm>

#include "domain/expiry_alerts.h"
#include "domain/instant.h"
#include "domain/listener_readiness.h"

namespace certsched::adapters {

using domain::Listener;
using statemachines::ScheduleState;

domain::CommandContext install_step(const domain::CommandContext& ctx, Listener l) {
  return ctx.step(std::string("install/") + to_string(l));
}

Status Scheduler::deliver(const domain::CommandContext& ctx, TickReport& report) {
  CERTSCHED_ASSIGN_OR_RETURN(auto mail, deliver_due(engine_, outbox_, ctx, nullptr, mail_limits_));
  report.mail.delivered += mail.delivered;
  report.mail.failed += mail.failed;
  report.mail.errors.insert(report.mail.errors.end(), mail.errors.begin(), mail.errors.end());
  return Status::Ok();
}

Result<TickReport> Scheduler::run_once(const domain::CommandContext& ctx) {
  TickReport report;
  // Mail first: a schedule due now that waits only for its partner mail activates in this
  // same run.
  CERTSCHED_RETURN_IF_ERROR(deliver(ctx.step("mail"), report));
  std::vector<Listener> due_installs;
  CERTSCHED_ASSIGN_OR_RETURN(auto recorded, record_due(ctx, due_installs));
  report.activated = std::move(recorded.activated);
  report.alerts = std::move(recorded.alerts);
  for (const Listener lid : due_installs) {
    auto installed = engine_.install_listener(lid, installer_, install_step(ctx, lid));
    if (installed.ok()) {
      report.installed.push_back(to_string(lid));
      report.activated.insert(report.activated.end(), installed->schedule_ids.begin(), installed->schedule_ids.end());
    } else if (installed.status().IsIOError()) {
      report.install_errors.push_back(installed.status().message());  // recorded; retried later
    } else {
      return installed.status();
    }
  }
  // What this run raised: activation notices and alerts.
  CERTSCHED_RETURN_IF_ERROR(deliver(ctx.step("mail-raised"), report));
  return report;
}

Result<TickReport> Scheduler::record_due(const domain::CommandContext& ctx, std::vector<Listener>& due_installs) {
  TickReport report;
  CERTSCHED_ASSIGN_OR_RETURN(auto activated, engine_.activate_due(ctx.step("activate")));
  report.activated = activated.schedule_ids;
  // After the activations: a certificate just replaced is no longer in use.
  CERTSCHED_ASSIGN_OR_RETURN(auto expiring, engine_.raise_expiry_alerts(ctx.step("expiry")));
  report.alerts = expiring.notes;

  for (uint8_t li = 0; li < domain::kListenerCount; ++li) {
    const Listener lid = static_cast<Listener>(li);
    CERTSCHED_ASSIGN_OR_RETURN(auto state, engine_.state());
    const domain::ListenerRecord* l = state->listener(lid);
    if (!l || !l->pending) continue;
    const domain::ListenerReadiness ready = domain::listener_readiness(*state, lid, ctx.now_ns);
    if (ready.ready) {
      const bool backing_off =  // after a failed install
          l->install_failures > 0 && ctx.now_ns < l->last_failure_ns + projections::retry_delay_ns(l->install_failures);
      if (!backing_off) due_installs.push_back(lid);
      continue;
    }
    // Blocked: alert once per pending certificate when some schedule's time has passed.
    bool overdue = false;
    for (const auto& id : state->schedule_ids()) {
      const domain::ScheduleRecord* s = state->schedule(id);
      overdue |= statemachines::is_open(s->state()) && s->role() == domain::Role::kLocalSslServer &&
                 s->proposed.fingerprint == l->pending->fingerprint && s->proposed.activate_at_ns <= ctx.now_ns;
    }
    if (!overdue || ready.blockers.empty() || state->system()->smtp_url.empty()) continue;
    projections::Notification n;
    n.id = std::string("blocked/") + to_string(lid) + "/" + l->pending->alias;
    n.from_log = false;
    n.to = {state->system()->admin_email};
    n.subject = std::string("certsched: listener ") + to_string(lid) + " cannot install " + l->pending->alias + " yet";
    n.body = std::string("The new server certificate ") + l->pending->alias + " of listener " + to_string(lid) +
             " (proposal " + l->pending_proposal + ") is due, but these partners block its install:\n";
    for (const auto& b : ready.blockers) n.body += "\n  " + b.partner + ": " + b.reason;
    n.body += "\n\nEvery partner using the listener needs a confirmed schedule for the same certificate whose time has passed.\n";
    report.alerts.push_back(n.id);
    outbox_.add(std::move(n), *state);
  }

  // Schedules past their time whose partner mail was tried and not accepted.
  CERTSCHED_ASSIGN_OR_RETURN(auto state, engine_.state());
  for (const auto& id : state->schedule_ids()) {
    const domain::ScheduleRecord* s = state->schedule(id);
    if (s->state() != ScheduleState::kConfirmed || !s->proposed.email_partner || s->proposed.activate_at_ns > ctx.now_ns ||
        s->mail_attempts == 0 || state->system()->smtp_url.empty()) {
      continue;
    }
    projections::Notification n;
    n.id = "overdue/" + id;
    n.from_log = false;
    n.to = {state->system()->admin_email};
    n.subject = "certsched: schedule " + id + " for " + s->proposed.partner + " is overdue";
    n.body = "Schedule " + id + " (" + domain::to_string(s->role()) + " " + s->proposed.alias + " for partner " +
             s->proposed.partner + ") was due at " + domain::format_instant(s->proposed.activate_at_ns) +
             " but its partner mail has not been accepted" +
             (s->last_mail_error.empty() ? std::string(".") : " (last error: " + s->last_mail_error + ").") +
             "\nIt activates once the mail is accepted, or after\n  certsched schedule skip-email " + id +
             " --reason TEXT\n";
    report.alerts.push_back(n.id);
    outbox_.add(std::move(n), *state);
  }
  return report;
}

Result<bool> Scheduler::mail_due(int64_t now_ns) {
  CERTSCHED_ASSIGN_OR_RETURN(auto state, engine_.state());
  const int64_t next = outbox_.next_attempt_ns(*state);
  return next != 0 && next <= now_ns;
}

Result<int64_t> Scheduler::next_due_ns(int64_t now_ns) {
  CERTSCHED_ASSIGN_OR_RETURN(auto state, engine_.state());
  const domain::DomainState& s = *state;
  int64_t next = 0;
  auto consider = [&](int64_t at) {
    if (at > now_ns && (next == 0 || at < next)) next = at;
  };
  for (const auto& id : s.schedule_ids()) {
    const domain::ScheduleRecord* r = s.schedule(id);
    if (statemachines::is_open(r->state()) && r->state() != ScheduleState::kProposed) consider(r->proposed.activate_at_ns);
  }
  for (uint8_t li = 0; li < domain::kListenerCount; ++li) {
    const domain::ListenerRecord* l = s.listener(static_cast<Listener>(li));
    if (l && l->pending && l->install_failures > 0) {
      consider(l->last_failure_ns + projections::retry_delay_ns(l->install_failures));
    }
  }
  consider(outbox_.next_attempt_ns(s));
  consider(domain::next_expiry_alert_ns(s, now_ns));
  return next;
}

}  // namespace certsched::adapters
