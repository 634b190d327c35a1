#include "adapters/notifier.h"

namespace certsched::adapters {

SmtpMailer mailer_for(const domain::DomainState& state, CallLimits limits) {
  const domain::SystemInitialized* sys = state.system();
  return SmtpMailer(sys ? sys->smtp_url : "", sys ? sys->mail_from : "certsched@localhost", limits);
}

Result<DeliveryReport> deliver_due(domain::Engine& engine, projections::NotificationOutbox& outbox,
                                   const domain::CommandContext& ctx, std::unique_lock<std::mutex>* engine_lock,
                                   CallLimits limits) {
  CERTSCHED_ASSIGN_OR_RETURN(auto state, engine.state());
  const SmtpMailer mailer = mailer_for(*state, limits);
  DeliveryReport report;
  for (const projections::Notification& n : outbox.due(*state, ctx.now_ns)) {
    if (engine_lock) engine_lock->unlock();
    auto sent = mailer.send(n, ctx.now_ns);
    if (engine_lock) engine_lock->lock();  // the state may have moved on: what follows reads it again
    if (limits.abandoned()) break;
    // On a clustered store another node may have taken over during the send, sent this
    // mail again (with the same Message-ID) and recorded it: a record refused because it is
    // there already is the at-least-once the outbox promises, not a failure.
    if (n.to_partner) {
      for (const auto& schedule : n.schedule_ids) {
        auto awaits_mail = [&]() -> Result<bool> {
          CERTSCHED_ASSIGN_OR_RETURN(const domain::DomainState* state, engine.state());
          const domain::ScheduleRecord* s = state->schedule(schedule);
          return s && s->machine.accepts(statemachines::ScheduleTrigger::kMailSent);
        };
        CERTSCHED_ASSIGN_OR_RETURN(bool awaiting, awaits_mail());
        if (!awaiting) continue;
        auto recorded = sent.ok() ? engine.record_mail_sent(schedule, sent.value(), ctx.step("sent/" + schedule))
                                  : engine.record_mail_failed(schedule, sent.status().message(),
                                                              ctx.step("failed/" + schedule));
        if (recorded.ok()) continue;
        if (!recorded.status().IsConflict()) return recorded.status();
        CERTSCHED_ASSIGN_OR_RETURN(awaiting, awaits_mail());
        if (awaiting) return recorded.status();
      }
    } else {
      auto recorded = sent.ok() ? engine.record_notification_delivered(n.id, sent.value(), ctx.step("sent/" + n.id))
                                : engine.record_notification_failed(n.id, sent.status().message(),
                                                                    ctx.step("failed/" + n.id));
      if (!recorded.ok()) {
        if (!recorded.status().IsConflict()) return recorded.status();
        CERTSCHED_ASSIGN_OR_RETURN(const domain::DomainState* state, engine.state());
        const domain::DeliveryRecord* d = state->delivery(n.id);
        if (!(d && d->delivered)) return recorded.status();
      }
    }
    if (sent.ok()) {
      ++report.delivered;
    } else {
      ++report.failed;
      report.errors.push_back(sent.status().message());
    }
  }
  return report;
}

}  // namespace certsched::adapters
