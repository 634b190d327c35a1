#include "domain/engine.h"

#include <algorithm>

#include "domain/command_support.h"
#include "domain/key_vault.h"
#include "domain/listener_readiness.h"
#include "domain/request_digest.h"

namespace certsched::domain {

using eventstore::ExpectedVersion;
using statemachines::ScheduleState;
using statemachines::ScheduleTrigger;
using namespace internal;

Result<CommandResult> Engine::activate_due(const CommandContext& ctx) {
  return serializable(ctx, "", [&]() -> Result<CommandResult> {
    AppendBuilder b;
    CommandResult result;
    for (const auto& id : state_.schedule_ids()) {
      const ScheduleRecord* s = state_.schedule(id);
      if (s->state() != ScheduleState::kPending || s->role() == Role::kLocalSslServer) continue;
      if (s->proposed.activate_at_ns > ctx.now_ns) continue;
      add_activation(b, state_, *s, ActivationCause::kScheduledTime);
      result.schedule_ids.push_back(id);
    }
    if (b.empty()) return result;
    return commit(b.build(ctx, ""), std::move(result));
  });
}

Result<CommandResult> Engine::observe_first_usage(const std::string& partner_id,
                                                  const std::vector<std::string>& fingerprints,
                                                  const CommandContext& ctx) {
  std::string used_fingerprints;
  for (const auto& fp : fingerprints) used_fingerprints.append(fp).append(",");
  return serializable(ctx, request_digest({"observe", partner_id, used_fingerprints}), [&]() -> Result<CommandResult> {
    const PartnerRecord* partner = state_.partner(partner_id);
    if (!partner) return no_such_partner(partner_id);
    auto used = [&](const std::string& fp) {
      return std::find(fingerprints.begin(), fingerprints.end(), fp) != fingerprints.end();
    };
    AppendBuilder b;
    CommandResult result;
    for (Role role : {Role::kLocalEncryption, Role::kPartnerSigning}) {
      const ScheduleRecord* s = state_.open_schedule(partner_id, role);
      if (!s || !used(s->proposed.fingerprint)) continue;
      if (!s->proposed.first_usage) {
        result.notes.push_back("the message uses " + s->proposed.alias + " of schedule " + s->proposed.schedule_id +
                               ", but first usage does not apply to partner " + partner_id +
                               " (only non-CEM AS2/AS3 partners)");
        continue;
      }
      if (!s->machine.accepts(ScheduleTrigger::kFirstUsage)) {
        result.notes.push_back("schedule " + s->proposed.schedule_id + " is " +
                               statemachines::to_string(s->state()) + ": first usage activates only a confirmed schedule");
        continue;
      }
      add_activation(b, state_, *s, ActivationCause::kFirstUsage);
      result.schedule_ids.push_back(s->proposed.schedule_id);
    }
    if (b.empty()) {
      bool uses_current = false;
      for (const auto& cur : partner->current) uses_current = uses_current || (cur && used(cur->fingerprint));
      if (!uses_current && result.notes.empty()) {
        return Status::InvalidArgument("the message uses no certificate that partner " + partner_id +
                                       " has current or scheduled");
      }
      if (uses_current) result.notes.push_back("the message uses partner " + partner_id + "'s current certificates");
      return result;
    }
    return commit(b.build(ctx, ""), std::move(result));
  });
}

Result<ListenerInstall> Engine::install_request(Listener lid, const CertificateRecord& cert, const std::string& dir,
                                                const std::string& reload_command) {
  CERTSCHED_ASSIGN_OR_RETURN(auto vault, key_vault());
  CERTSCHED_ASSIGN_OR_RETURN(auto sealed, vault.get(cert.cert.fingerprint));
  CERTSCHED_ASSIGN_OR_RETURN(auto key_pem, private_key_pem(sealed.pkcs8));
  ListenerInstall request;
  request.listener = lid;
  request.dir = dir;
  request.reload_command = reload_command;
  request.alias = cert.cert.alias;
  request.fingerprint = cert.cert.fingerprint;
  request.cert_pem = certificate_pem(cert.cert.der);
  for (const auto& der : cert.cert.chain_der) request.cert_pem += certificate_pem(der);
  request.key_pem = std::move(key_pem);
  return request;
}

namespace {

// Why listener `lid` cannot install its pending certificate now; empty if it can.
std::string install_conflict(const DomainState& state, Listener lid, int64_t now_ns) {
  const ListenerRecord* l = state.listener(lid);
  if (!l) return std::string("listener ") + to_string(lid) + " is not configured";
  if (!l->pending) return std::string("listener ") + to_string(lid) + " has no pending server certificate";
  const ListenerReadiness ready = listener_readiness(state, lid, now_ns);
  if (ready.ready) return "";
  std::string why;
  for (const auto* list : {&ready.blockers, &ready.waits}) {
    for (const Blocker& b : *list) why += (why.empty() ? "" : "; ") + ("partner " + b.partner + " " + b.reason);
  }
  return std::string("listener ") + to_string(lid) + " cannot install " + l->pending->alias +
         " yet: " + (why.empty() ? "no partner has a schedule for it" : why);
}

}  // namespace

Result<ListenerInstall> Engine::prepare_listener_install(Listener lid, int64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  CERTSCHED_RETURN_IF_ERROR(catch_up());
  const std::string conflict = install_conflict(state_, lid, now_ns);
  if (!conflict.empty()) {
    return state_.listener(lid) ? Status::Conflict(conflict) : Status::NotFound(conflict);
  }
  const ListenerRecord* l = state_.listener(lid);
  return install_request(lid, *state_.certificate(l->pending->alias), l->dir, l->reload_command);
}

Result<CommandResult> Engine::record_listener_install(const ListenerInstall& done, const Status& outcome,
                                                      const CommandContext& ctx) {
  return serializable(ctx, "", [&]() -> Result<CommandResult> {
    const Listener lid = done.listener;
    const ListenerRecord* l = state_.listener(lid);
    // The log moved on while the files were written (a cancel withdrew the change): what the
    // files hold now is replaced by the listener's next install.
    if (!l || !l->pending || l->pending->fingerprint != done.fingerprint || l->dir != done.dir) {
      return Status::Conflict(std::string("listener ") + to_string(lid) + " no longer waits for " + done.alias +
                              ", which was being installed; nothing was recorded");
    }
    AppendBuilder b;
    if (!outcome.ok()) {
      b.add(listener_stream(lid), ExpectedVersion::Exactly(l->version),
            ListenerInstallFailed{done.fingerprint, outcome.message().substr(0, 1000), l->install_failures + 1});
      CERTSCHED_ASSIGN_OR_RETURN(auto recorded, commit(b.build(ctx, l->pending_proposal), {}));
      return Status::IOError("installing " + done.alias + " on listener " + to_string(lid) +
                             " failed: " + outcome.message());
    }
    // The partners that made it ready are read again: one may have been cancelled meanwhile.
    const ListenerReadiness ready = listener_readiness(state_, lid, ctx.now_ns);
    b.add(listener_stream(lid), ExpectedVersion::Exactly(l->version),
          ListenerCertificateInstalled{done.alias, done.fingerprint, l->current ? l->current->fingerprint : ""});
    CommandResult result;
    for (const auto& id : ready.schedule_ids) {
      add_activation(b, state_, *state_.schedule(id), ActivationCause::kListenerInstall);
      result.schedule_ids.push_back(id);
    }
    result.proposal_id = l->pending_proposal;
    return commit(b.build(ctx, l->pending_proposal), std::move(result));
  });
}

Result<CommandResult> Engine::install_listener(Listener lid, ListenerInstaller& installer, const CommandContext& ctx) {
  CERTSCHED_ASSIGN_OR_RETURN(auto request, prepare_listener_install(lid, ctx.now_ns));
  const Status outcome = installer.install(request);
  return record_listener_install(request, outcome, ctx);
}

}  // namespace certsched::domain
