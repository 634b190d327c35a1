// The API's POST handlers: the commands, with the same validation as the CLI's.
#include <nlohmann/json.hpp>

#include "adapters/evidence_key.h"
#include "adapters/first_usage.h"
#include "adapters/http/api_call.h"
#include "adapters/json_fields.h"
#include "adapters/proposal_json.h"
#include "adapters/remedies.h"
#include "projections/views.h"

namespace certsched::http {

using nlohmann::json;

Reply schedules_reply(const domain::DomainState& s, const domain::CommandResult& r) {
  json schedules = json::array(), notes = json::array();
  for (const auto& id : r.schedule_ids) schedules.push_back(projections::schedule_json(*s.schedule(id)));
  for (const auto& n : r.notes) notes.push_back(adapters::with_remedies(n, adapters::FrontEnd::kApi));
  return Reply{200, {{"proposal", r.proposal_id}, {"schedules", schedules}, {"duplicate", r.duplicate},
                     {"warnings", r.warnings}, {"notes", notes}}};
}

namespace {

using Command = std::function<Result<domain::CommandResult>(domain::Engine&)>;

Reply run(const ApiCall& call, const Command& command) {
  return call.with_engine([&](domain::Engine& e, const domain::DomainState&) {
    auto r = command(e);
    return r.ok() ? schedules_reply(e.known_state(), r.value()) : from_status(r.status());
  });
}

// A decision on a proposal takes no fields.
Reply decide(const ApiCall& call, Result<domain::CommandResult> (domain::Engine::*decision)(
                                      const std::string&, const domain::CommandContext&)) {
  adapters::JsonFields f(call.body);
  f.only({});
  if (!f.ok()) return from_status(f.status());
  return run(call, [&](domain::Engine& e) { return (e.*decision)(call.params[0], call.command); });
}

// A change of a schedule needs a reason.
Reply change_schedule(const ApiCall& call, Result<domain::CommandResult> (domain::Engine::*change)(
                                               const std::string&, const std::string&, const domain::CommandContext&)) {
  std::string reason;
  adapters::JsonFields f(call.body);
  f.only({"reason"});
  f.optional("reason", reason);
  if (!f.ok()) return from_status(f.status());
  return run(call, [&](domain::Engine& e) { return (e.*change)(call.params[0], reason, call.command); });
}

}  // namespace

Reply post_proposal(const ApiCall& call) {
  auto c = adapters::proposal_from_json(call.body);
  if (!c.ok()) return from_status(c.status());
  Reply reply = run(call, [&](domain::Engine& e) { return e.propose(c.value(), call.command); });
  domain::secure_wipe(c->password);
  return reply;
}

Reply post_confirm(const ApiCall& call) { return decide(call, &domain::Engine::confirm); }
Reply post_decline(const ApiCall& call) { return decide(call, &domain::Engine::decline); }
Reply post_cancel(const ApiCall& call) { return change_schedule(call, &domain::Engine::cancel); }
Reply post_skip_email(const ApiCall& call) { return change_schedule(call, &domain::Engine::skip_email); }

// The options given change; the answer is every option as it now is (as GET /v1/options).
Reply put_options(const ApiCall& call) {
  domain::SetOptionsCommand c;
  std::string admin_email, smtp, mail_from;
  std::vector<uint32_t> days;
  adapters::JsonFields f(call.body);
  f.only({"admin_email", "smtp", "mail_from", "expiry_alert_days"});
  f.optional("admin_email", admin_email);
  f.optional("smtp", smtp);
  f.optional("mail_from", mail_from);
  f.optional("expiry_alert_days", days);
  if (!f.ok()) return from_status(f.status());
  if (call.body.contains("admin_email")) c.admin_email = admin_email;
  if (call.body.contains("smtp")) c.smtp_url = smtp;
  if (call.body.contains("mail_from")) c.mail_from = mail_from;
  if (call.body.contains("expiry_alert_days")) c.expiry_alert_days = days;
  return call.with_engine([&](domain::Engine& e, const domain::DomainState&) {
    auto r = e.set_options(c, call.command);
    if (!r.ok()) return from_status(r.status());
    nlohmann::json j = projections::options_json(e.known_state());
    adapters::add_evidence_key(call.context.store_dir, &j);
    return Reply{200, j};
  });
}

Reply post_observation(const ApiCall& call) {
  std::string partner, message;
  adapters::JsonFields f(call.body);
  f.only({"partner", "message"});
  f.required("partner", partner);
  f.required("message", message);
  if (!f.ok()) return from_status(f.status());
  return call.with_engine([&](domain::Engine& e, const domain::DomainState&) {
    auto r = adapters::observe_message(e, partner, message, call.command);
    if (!r.ok()) return from_status(r.status());
    Reply out = schedules_reply(e.known_state(), r.value());
    out.body["activated"] = out.body["schedules"];
    return out;
  });
}

}  // namespace certsched::http
