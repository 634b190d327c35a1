#include "adapters/notifier.h"

namespace certsched::adapters {
namespace {

domain::CommandContext step(const domain::CommandContext& ctx, const std::string& what) {
  // One command id per record, derived from the caller's, so a retried tick is idempotent.
  return {ctx.command_id + "/" + what, ctx.actor, ctx.now_ns};
}

}  // namespace

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
    if (n.to_partner) {
      for (const auto& schedule : n.schedule_ids) {
        const domain::ScheduleRecord* s = engine.state().value()->schedule(schedule);
        if (!s || !s->machine.accepts(statemachines::ScheduleTrigger::kMailSent)) continue;
        auto recorded = sent.ok() ? engine.record_mail_sent(schedule, sent.value(), step(ctx, "sent/" + schedule))
                                  : engine.record_mail_failed(schedule, sent.status().message(),
                                                              step(ctx, "failed/" + schedule));
        if (!recorded.ok()) return recorded.status();
      }
    } else {
      auto recorded = sent.ok() ? engine.record_notification_delivered(n.id, sent.value(), step(ctx, "sent/" + n.id))
                                : engine.record_notification_failed(n.id, sent.status().message(),
                                                                    step(ctx, "failed/" + n.id));
      if (!recorded.ok()) return recorded.status();
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
