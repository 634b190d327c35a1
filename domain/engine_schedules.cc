#include "domain/engine.h"

#include <algorithm>
#include <map>
#include <set>

#include "domain/command_support.h"
#include "domain/instant.h"
#include "domain/key_vault.h"
#include "domain/request_digest.h"

namespace certsched::domain {

using eventstore::ExpectedVersion;
using statemachines::ScheduleState;
using statemachines::ScheduleTrigger;
using namespace internal;

Status Engine::verify_password(const std::string& alias, const std::string& password) {
  const CertificateRecord* cert = state_.certificate(alias);
  CERTSCHED_ASSIGN_OR_RETURN(auto vault, key_vault());
  CERTSCHED_ASSIGN_OR_RETURN(auto sealed, vault.get(cert->cert.fingerprint));
  return verify_key_password(sealed.password_protected.reveal(), password, info_of(cert->cert), alias);
}

Result<CommandResult> Engine::propose(const ProposeCommand& c, const CommandContext& ctx) {
  return serializable(ctx, request_digest(c), [&]() -> Result<CommandResult> {
    Problems p;
    CommandResult result;
    if (!state_.initialized()) return Status::InvalidArgument("the store is not initialised");

    // Partners, each once.
    std::vector<const PartnerRecord*> partners;
    std::set<std::string> seen_partners;
    if (c.partners.empty()) p.add("name at least one partner");
    for (const auto& id : c.partners) {
      if (!seen_partners.insert(id).second) continue;
      const PartnerRecord* partner = state_.partner(id);
      if (!partner) p.not_found(no_such_partner(id).message());
      else partners.push_back(partner);
    }

    // Roles, with the signing certificate also used for encryption when asked.
    std::map<Role, std::string> roles;
    for (const auto& [role, alias] : c.roles) {
      if (!roles.emplace(role, alias).second) p.add(std::string("role ") + to_string(role) + " is given twice");
    }
    if (c.use_signing_for_encryption) {
      bool any_signing = false;
      for (Role signing : {Role::kLocalSigning, Role::kPartnerSigning}) {
        auto it = roles.find(signing);
        if (it == roles.end()) continue;
        any_signing = true;
        auto [enc, inserted] = roles.emplace(encryption_role_for(signing), it->second);
        if (!inserted && enc->second != it->second) {
          p.add(std::string("the signing certificate is to serve for encryption too, but ") + to_string(enc->first) +
                " names another certificate (" + enc->second + ")");
        }
      }
      if (!any_signing) p.add("using the signing certificate for encryption too needs a signing role");
    }
    if (roles.empty()) p.add("name at least one role and its certificate");

    // When.
    const int64_t activate_at = c.activate_at_ns.value_or(ctx.now_ns);
    if (c.activate_at_ns && *c.activate_at_ns < ctx.now_ns) {
      p.add("activation time " + format_instant(*c.activate_at_ns) + " is in the past (now is " +
            format_instant(ctx.now_ns) + "); give a future instant or now");
    }
    if (c.email_partners && (!state_.system() || state_.system()->smtp_url.empty())) {
      p.add("mailing the partners was asked for, but no SMTP server is configured");
    }

    // The certificates: kind, validity, usage, and the operator's key password.
    std::set<std::string> passwords_checked;
    for (const auto& [role, alias] : roles) {
      const CertificateRecord* cert = state_.certificate(alias);
      if (!cert) {
        p.not_found("no certificate with alias " + alias + " (import it first)");
        continue;
      }
      if ((cert->cert.local != 0) != is_local(role)) {
        p.add("certificate " + alias + " is a " + (cert->cert.local ? "local" : "partner") +
              " certificate and cannot serve as " + to_string(role));
        continue;
      }
      const CertificateInfo info = info_of(cert->cert);
      for (const Finding& f : check_validity(info, ctx.now_ns, false)) {
        if (f.error) p.add(f.message);
      }
      if (activate_at > ctx.now_ns || info.not_before_ns > ctx.now_ns) {
        for (const Finding& f : check_validity(info, activate_at, true)) p.add(f.message + " (at the activation time)");
      }
      for (const Finding& f : check_role_fit(info, role)) {
        if (f.error) p.add(f.message);
        else result.warnings.push_back(f.message);
      }
      if (cert->cert.local && passwords_checked.insert(alias).second) {
        Status st = verify_password(alias, c.password);
        // A damaged sealed key or store key is the store's fault, not the operator's input.
        if (st.IsCorruption() || st.IsIOError()) return st;
        if (!st.ok()) p.add(st.message());
      }
    }

    struct Planned {
      const PartnerRecord* partner;
      Role role;
      const CertificateRecord* cert;
      bool forced;
    };
    std::vector<Planned> planned;
    std::map<Listener, const CertificateRecord*> listener_changes;
    for (const PartnerRecord* partner : partners) {
      for (const auto& [role, alias] : roles) {
        const CertificateRecord* cert = state_.certificate(alias);
        if (!cert || (cert->cert.local != 0) != is_local(role)) continue;
        const size_t ri = static_cast<size_t>(role);
        bool forced = false;
        if (role == Role::kLocalSslClient && !partner->current[ri]) {
          if (!c.force_ssl_client) {
            result.notes.push_back("partner " + partner->id + " has no SSL client certificate: " + alias +
                                   " not scheduled for it (forcing the SSL client certificate schedules it anyway)");
            continue;
          }
          forced = true;
        }
        if (role == Role::kLocalSslServer) {
          const Listener lid = listener_for(partner->protocol);
          const ListenerRecord* l = state_.listener(lid);
          if (!l || !l->current) {
            p.add(std::string("partner ") + partner->id + " uses listener " + to_string(lid) +
                  ", which is not configured: configure the listener first");
            continue;
          }
          if (!partner->current[ri]) {
            if (!c.force_ssl_server) {
              result.notes.push_back("partner " + partner->id + " does not use listener " + to_string(lid) +
                                     " over SSL: " + alias + " not scheduled for it (forcing the SSL server certificate schedules it anyway)");
              continue;
            }
            forced = true;
          }
          // One server certificate per listener: every listener holding the same certificate
          // must move to the same new one.
          for (uint8_t li = 0; li < kListenerCount; ++li) {
            const ListenerRecord* other = state_.listener(static_cast<Listener>(li));
            if (!other || !other->pending) continue;
            const bool shares = other->listener == lid ||
                                (other->current && other->current->fingerprint == l->current->fingerprint);
            if (shares && other->pending->fingerprint != cert->cert.fingerprint) {
              p.conflict(std::string("listener ") + to_string(other->listener) +
                         " already has a new server certificate scheduled (" + other->pending->alias +
                         ", proposal " + other->pending_proposal + "); every server certificate proposal for partners "
                         "using it must name " + other->pending->alias + ", or decline or cancel that proposal first");
            }
          }
          if (!l->pending) listener_changes[lid] = cert;
        }
        if (const ScheduleRecord* open = state_.open_schedule(partner->id, role)) {
          p.conflict("partner " + partner->id + " already has an open " + to_string(role) + " schedule " +
                     open->proposed.schedule_id + " (proposal " + open->proposed.proposal_id + ", " +
                     statemachines::to_string(open->state()) + "): decline or cancel it first");
          continue;
        }
        if (partner->current[ri] && partner->current[ri]->fingerprint == cert->cert.fingerprint) {
          p.conflict("certificate " + alias + " is already current for partner " + partner->id + " as " + to_string(role));
          continue;
        }
        planned.push_back({partner, role, cert, forced});
      }
    }
    if (p.empty() && planned.empty()) {
      std::string why;
      for (const auto& n : result.notes) why += "; " + n;
      p.add("nothing to schedule" + why);
    }
    if (!p.empty()) return p.status();

    const std::string proposal_id = "P" + std::to_string(state_.proposal_count() + 1);
    size_t next_schedule = state_.schedule_ids().size() + 1;
    AppendBuilder b;
    for (const Planned& plan : planned) {
      ScheduleProposed e;
      e.schedule_id = "S" + std::to_string(next_schedule++);
      e.proposal_id = proposal_id;
      e.partner = plan.partner->id;
      e.role = static_cast<uint8_t>(plan.role);
      e.alias = plan.cert->cert.alias;
      e.fingerprint = plan.cert->cert.fingerprint;
      e.activate_at_ns = activate_at;
      e.email_partner = c.email_partners ? 1 : 0;
      e.first_usage = first_usage_applies(plan.partner->protocol, plan.partner->cem, plan.role) ? 1 : 0;
      e.forced = plan.forced ? 1 : 0;
      b.add(schedule_stream(e.schedule_id), ExpectedVersion::NoStream(), e);
      result.schedule_ids.push_back(e.schedule_id);
    }
    for (const auto& [lid, cert] : listener_changes) {
      b.add(listener_stream(lid), ExpectedVersion::Exactly(state_.listener(lid)->version),
            ListenerChangeProposed{cert->cert.alias, cert->cert.fingerprint, proposal_id});
    }
    result.proposal_id = proposal_id;
    return commit(b.build(ctx, proposal_id), std::move(result));
  });
}

std::vector<std::string> Engine::withdrawn_listener_changes(const std::vector<std::string>& closing) const {
  // Listeners whose pending certificate no open schedule names once `closing` are closed.
  std::vector<std::string> out;
  for (uint8_t li = 0; li < kListenerCount; ++li) {
    const Listener lid = static_cast<Listener>(li);
    const ListenerRecord* l = state_.listener(lid);
    if (!l || !l->pending) continue;
    bool still_named = false;
    for (const auto& [id, partner] : state_.partners()) {
      if (listener_for(partner.protocol) != lid) continue;
      const ScheduleRecord* s = state_.open_schedule(id, Role::kLocalSslServer);
      if (s && s->proposed.fingerprint == l->pending->fingerprint &&
          std::find(closing.begin(), closing.end(), s->proposed.schedule_id) == closing.end()) {
        still_named = true;
      }
    }
    if (!still_named) out.push_back(to_string(lid));
  }
  return out;
}

Result<CommandResult> Engine::confirm(const std::string& proposal_id, const CommandContext& ctx) {
  return serializable(ctx, request_digest({"schedule confirm", proposal_id}), [&]() -> Result<CommandResult> {
    const auto schedules = state_.schedules_of_proposal(proposal_id);
    if (schedules.empty()) return Status::NotFound("no proposal " + proposal_id);
    Problems p;
    for (const ScheduleRecord* s : schedules) {
      if (!s->machine.accepts(ScheduleTrigger::kConfirm)) {
        p.conflict("proposal " + proposal_id + " cannot be confirmed: schedule " + s->proposed.schedule_id +
                   " is " + statemachines::to_string(s->state()) + " (only a proposed proposal can be confirmed)");
        break;
      }
      const CertificateRecord* cert = state_.certificate(s->proposed.alias);
      for (const Finding& f : check_validity(info_of(cert->cert), std::max(ctx.now_ns, s->proposed.activate_at_ns), true)) {
        p.add(f.message + "; decline proposal " + proposal_id + " and propose another certificate");
      }
    }
    if (!p.empty()) return p.status();
    AppendBuilder b;
    CommandResult result;
    result.proposal_id = proposal_id;
    for (const ScheduleRecord* s : schedules) {
      const std::string stream = schedule_stream(s->proposed.schedule_id);
      b.add(stream, ExpectedVersion::Exactly(s->version), ScheduleConfirmed{});
      if (!s->proposed.email_partner) b.add(stream, ExpectedVersion::Exactly(s->version), ScheduleQueued{});
      result.schedule_ids.push_back(s->proposed.schedule_id);
    }
    return commit(b.build(ctx, proposal_id), std::move(result));
  });
}

Result<CommandResult> Engine::decline(const std::string& proposal_id, const CommandContext& ctx) {
  return serializable(ctx, request_digest({"schedule decline", proposal_id}), [&]() -> Result<CommandResult> {
    const auto schedules = state_.schedules_of_proposal(proposal_id);
    if (schedules.empty()) return Status::NotFound("no proposal " + proposal_id);
    std::vector<std::string> closing;
    for (const ScheduleRecord* s : schedules) {
      if (!s->machine.accepts(ScheduleTrigger::kDecline)) {
        return Status::Conflict("proposal " + proposal_id + " cannot be declined: schedule " +
                                s->proposed.schedule_id + " is " + statemachines::to_string(s->state()) +
                                (s->state() == ScheduleState::kWithdrawn ? "" : " (cancel a confirmed schedule instead)"));
      }
      closing.push_back(s->proposed.schedule_id);
    }
    AppendBuilder b;
    CommandResult result;
    result.proposal_id = proposal_id;
    for (const ScheduleRecord* s : schedules) {
      b.add(schedule_stream(s->proposed.schedule_id), ExpectedVersion::Exactly(s->version), ScheduleDeclined{});
    }
    result.schedule_ids = closing;
    for (const auto& name : withdrawn_listener_changes(closing)) {
      const ListenerRecord* l = state_.listener(*parse_listener(name));
      b.add(listener_stream(l->listener), ExpectedVersion::Exactly(l->version), ListenerChangeWithdrawn{l->pending->fingerprint});
    }
    return commit(b.build(ctx, proposal_id), std::move(result));
  });
}

Result<CommandResult> Engine::cancel(const std::string& schedule_id, const std::string& reason, const CommandContext& ctx) {
  return serializable(ctx, request_digest({"schedule cancel", schedule_id, reason}), [&]() -> Result<CommandResult> {
    const ScheduleRecord* s = state_.schedule(schedule_id);
    if (!s) return Status::NotFound("no schedule " + schedule_id);
    CERTSCHED_ASSIGN_OR_RETURN(const std::string why, checked_reason(reason, "cancelling"));
    if (s->state() == ScheduleState::kProposed) {
      return Status::Conflict("schedule " + schedule_id + " awaits confirmation: decline proposal " +
                              s->proposed.proposal_id + " instead");
    }
    if (!s->machine.accepts(ScheduleTrigger::kCancel)) {
      return Status::Conflict("schedule " + schedule_id + " is " + statemachines::to_string(s->state()) +
                              "; only confirmed, emailed or pending schedules can be cancelled");
    }
    AppendBuilder b;
    b.add(schedule_stream(schedule_id), ExpectedVersion::Exactly(s->version), ScheduleCancelled{why});
    for (const auto& name : withdrawn_listener_changes({schedule_id})) {
      const ListenerRecord* l = state_.listener(*parse_listener(name));
      b.add(listener_stream(l->listener), ExpectedVersion::Exactly(l->version), ListenerChangeWithdrawn{l->pending->fingerprint});
    }
    CommandResult result;
    result.proposal_id = s->proposed.proposal_id;
    result.schedule_ids = {schedule_id};
    return commit(b.build(ctx, s->proposed.proposal_id), std::move(result));
  });
}

Result<CommandResult> Engine::skip_email(const std::string& schedule_id, const std::string& reason, const CommandContext& ctx) {
  return serializable(ctx, request_digest({"schedule skip-email", schedule_id, reason}), [&]() -> Result<CommandResult> {
    const ScheduleRecord* s = state_.schedule(schedule_id);
    if (!s) return Status::NotFound("no schedule " + schedule_id);
    CERTSCHED_ASSIGN_OR_RETURN(const std::string why, checked_reason(reason, "skipping the partner email"));
    if (!s->machine.accepts(ScheduleTrigger::kSkipEmail)) {
      return Status::Conflict("schedule " + schedule_id + " is " + statemachines::to_string(s->state()) +
                              (s->proposed.email_partner ? "" : " and no partner email was asked for") +
                              "; only a confirmed schedule still waiting for its partner email can skip it");
    }
    AppendBuilder b;
    b.add(schedule_stream(schedule_id), ExpectedVersion::Exactly(s->version), EmailSkipped{why});
    CommandResult result;
    result.proposal_id = s->proposed.proposal_id;
    result.schedule_ids = {schedule_id};
    return commit(b.build(ctx, s->proposed.proposal_id), std::move(result));
  });
}

}  // namespace certsched::domain
