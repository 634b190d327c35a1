#include "domain/engine.h"

#include "domain/command_support.h"

namespace certsched::domain {

using eventstore::ExpectedVersion;
using statemachines::ScheduleState;
using statemachines::ScheduleTrigger;
using namespace internal;

Result<CommandResult> Engine::record_mail_sent(const std::string& schedule_id, const std::string& message_id,
                                               const CommandContext& ctx) {
  return serializable(ctx, "", [&]() -> Result<CommandResult> {
    const ScheduleRecord* s = state_.schedule(schedule_id);
    if (!s) return Status::NotFound("no schedule " + schedule_id);
    if (!s->machine.accepts(ScheduleTrigger::kMailSent)) {
      return Status::Conflict("schedule " + schedule_id + " is " + statemachines::to_string(s->state()) +
                              "; it is not waiting for a partner email");
    }
    AppendBuilder b;
    const std::string stream = schedule_stream(schedule_id);
    b.add(stream, ExpectedVersion::Exactly(s->version), PartnerMailSent{message_id});
    b.add(stream, ExpectedVersion::Exactly(s->version), ScheduleQueued{});
    CommandResult result;
    result.proposal_id = s->proposed.proposal_id;
    result.schedule_ids = {schedule_id};
    return commit(b.build(ctx, s->proposed.proposal_id), std::move(result));
  });
}

Result<CommandResult> Engine::record_mail_failed(const std::string& schedule_id, const std::string& error,
                                                 const CommandContext& ctx) {
  return serializable(ctx, "", [&]() -> Result<CommandResult> {
    const ScheduleRecord* s = state_.schedule(schedule_id);
    if (!s) return Status::NotFound("no schedule " + schedule_id);
    if (!s->machine.accepts(ScheduleTrigger::kMailFailed)) {
      return Status::Conflict("schedule " + schedule_id + " is " + statemachines::to_string(s->state()) +
                              "; it is not waiting for a partner email");
    }
    AppendBuilder b;
    b.add(schedule_stream(schedule_id), ExpectedVersion::Exactly(s->version),
          PartnerMailFailed{error.substr(0, 1000), s->mail_attempts + 1});
    CommandResult result;
    result.proposal_id = s->proposed.proposal_id;
    result.schedule_ids = {schedule_id};
    return commit(b.build(ctx, s->proposed.proposal_id), std::move(result));
  });
}

Result<CommandResult> Engine::record_notification_delivered(const std::string& id, const std::string& message_id,
                                                            const CommandContext& ctx) {
  return serializable(ctx, "", [&]() -> Result<CommandResult> {
    const DeliveryRecord* d = state_.delivery(id);
    if (d && d->delivered) return Status::Conflict("notification " + id + " was already delivered");
    AppendBuilder b;
    b.add(kNotificationStream, ExpectedVersion::Any(), NotificationDelivered{id, message_id});
    return commit(b.build(ctx, ""), {});
  });
}

Result<CommandResult> Engine::record_notification_failed(const std::string& id, const std::string& error,
                                                         const CommandContext& ctx) {
  return serializable(ctx, "", [&]() -> Result<CommandResult> {
    const DeliveryRecord* d = state_.delivery(id);
    if (d && d->delivered) return Status::Conflict("notification " + id + " was already delivered");
    AppendBuilder b;
    b.add(kNotificationStream, ExpectedVersion::Any(),
          NotificationFailed{id, error.substr(0, 1000), d ? d->attempts + 1 : 1});
    return commit(b.build(ctx, ""), {});
  });
}

}  // namespace certsched::domain
