// The changes operators make to what exists: a partner's details, and retiring a partner or
// a certificate. Nothing is erased: each change is an event, and what is removed stays in
// the log's history (audit, point-in-time answers, evidence).
#include "domain/engine.h"

#include "domain/command_support.h"
#include "domain/instant.h"
#include "domain/key_vault.h"
#include "domain/request_digest.h"

namespace certsched::domain {

using eventstore::ExpectedVersion;
using statemachines::ScheduleState;
using namespace internal;

namespace {

// "S4 (local-signing, proposal P2, pending)".
std::string describe_schedule(const ScheduleRecord& s) {
  return s.proposed.schedule_id + " (" + to_string(s.role()) + ", proposal " + s.proposed.proposal_id + ", " +
         statemachines::to_string(s.state()) + ")";
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

}  // namespace

Status Engine::no_such_partner(const std::string& id) const {
  if (const PartnerRecord* gone = state_.removed_partner(id)) {
    return Status::NotFound("partner " + id + " was removed on " + format_instant(gone->removed_at_ns) + " (" +
                            gone->removal_reason + ")");
  }
  return Status::NotFound("no partner " + id);
}

Result<CommandResult> Engine::update_partner(const UpdatePartnerCommand& c, const CommandContext& ctx) {
  return serializable(ctx, request_digest(c), [&]() -> Result<CommandResult> {
    if (!state_.initialized()) return Status::InvalidArgument("the store is not initialised");
    const PartnerRecord* partner = state_.partner(c.id);
    if (!partner) return no_such_partner(c.id);
    Problems p;
    if (!c.email && !c.protocol && !c.cem) p.add("name at least one change: the email, the protocol or the CEM flag");
    if (c.email) {
      check_text(p, "the partner email", *c.email);
      if (valid_text(*c.email) && !valid_email(*c.email)) p.add("partner email '" + *c.email + "' is not an email address");
    }
    const PartnerUpdated next{static_cast<uint8_t>(c.protocol.value_or(partner->protocol)),
                              c.email.value_or(partner->email), static_cast<uint8_t>(c.cem.value_or(partner->cem))};
    const auto protocol = static_cast<Protocol>(next.protocol);
    const Listener from = listener_for(partner->protocol), to = listener_for(protocol);
    CommandResult result;
    if (from != to) {
      if (const ScheduleRecord* open = state_.open_schedule(*partner, Role::kLocalSslServer)) {
        p.conflict("partner " + c.id + " has an open server certificate schedule " + describe_schedule(*open) +
                   " for listener " + to_string(from) + "; a protocol that moves it to listener " + to_string(to) +
                   " waits until that schedule activates, or is declined or cancelled");
      } else {
        result.notes.push_back("partner " + c.id + " now uses listener " + to_string(to) + " instead of " + to_string(from));
      }
    }
    if (!p.empty()) return p.status();
    if (next.protocol == static_cast<uint8_t>(partner->protocol) && next.email == partner->email &&
        (next.cem != 0) == partner->cem) {
      return Status::Conflict("partner " + c.id + " is already so; nothing was changed");
    }
    for (uint8_t r = 0; r < kRoleCount; ++r) {
      const ScheduleRecord* open = state_.open_schedule(*partner, static_cast<Role>(r));
      if (open && open->proposed.first_usage && !first_usage_applies(protocol, next.cem != 0, open->role())) {
        result.warnings.push_back("schedule " + open->proposed.schedule_id +
                                  " was proposed to activate on first usage, which no longer applies to this partner: it "
                                  "activates at its time, " + format_instant(open->proposed.activate_at_ns));
      }
    }
    AppendBuilder b;
    b.add(partner_stream(c.id), ExpectedVersion::Exactly(partner->version), next);
    return commit(b.build(ctx, ""), std::move(result));
  });
}

Result<CommandResult> Engine::remove_partner(const std::string& id, const std::string& reason, const CommandContext& ctx) {
  return serializable(ctx, request_digest({"partner remove", id, reason}), [&]() -> Result<CommandResult> {
    if (!state_.initialized()) return Status::InvalidArgument("the store is not initialised");
    const PartnerRecord* partner = state_.partner(id);
    if (!partner) return no_such_partner(id);
    CERTSCHED_ASSIGN_OR_RETURN(const std::string why, checked_reason(reason, "removing a partner"));
    std::vector<std::string> open;
    for (uint8_t r = 0; r < kRoleCount; ++r) {
      if (const ScheduleRecord* s = state_.open_schedule(*partner, static_cast<Role>(r))) open.push_back(describe_schedule(*s));
    }
    if (!open.empty()) {
      return Status::Conflict("partner " + id + " has open schedules: " + joined(open) +
                              "; it can be removed once they have activated, or are declined or cancelled");
    }
    AppendBuilder b;
    b.add(partner_stream(id), ExpectedVersion::Exactly(partner->version), PartnerRemoved{why});
    return commit(b.build(ctx, ""), {});
  });
}

std::vector<std::string> Engine::certificate_uses(const std::string& alias) const {
  std::vector<std::string> uses;
  for (const auto& [id, partner] : state_.partners()) {
    for (uint8_t r = 0; r < kRoleCount; ++r) {
      if (partner.current[r] && partner.current[r]->alias == alias) {
        uses.push_back(std::string("current ") + to_string(static_cast<Role>(r)) + " of partner " + id);
      }
    }
  }
  for (const auto& id : state_.schedule_ids()) {
    const ScheduleRecord* s = state_.schedule(id);
    if (statemachines::is_open(s->state()) && s->proposed.alias == alias) {
      uses.push_back("scheduled for partner " + s->proposed.partner + " by " + describe_schedule(*s));
    }
  }
  for (uint8_t i = 0; i < kListenerCount; ++i) {
    const ListenerRecord* l = state_.listener(static_cast<Listener>(i));
    if (!l) continue;
    if (l->current && l->current->alias == alias) uses.push_back(std::string("installed on listener ") + to_string(l->listener));
    if (l->pending && l->pending->alias == alias) {
      uses.push_back(std::string("pending on listener ") + to_string(l->listener) + " (proposal " + l->pending_proposal + ")");
    }
  }
  return uses;
}

Result<CommandResult> Engine::remove_certificate(const std::string& alias, const std::string& reason,
                                                 const CommandContext& ctx) {
  CommandResult result;
  CERTSCHED_ASSIGN_OR_RETURN(result, serializable(ctx, request_digest({"cert remove", alias, reason}), [&]() -> Result<CommandResult> {
    if (!state_.initialized()) return Status::InvalidArgument("the store is not initialised");
    const CertificateRecord* cert = state_.certificate(alias);
    if (!cert) {
      if (const CertificateRecord* gone = state_.removed_certificate(alias)) {
        return Status::NotFound("certificate " + alias + " was removed on " + format_instant(gone->removed_at_ns) +
                                " (" + gone->removal_reason + ")");
      }
      return Status::NotFound("no certificate with alias " + alias);
    }
    CERTSCHED_ASSIGN_OR_RETURN(const std::string why, checked_reason(reason, "removing a certificate"));
    if (const auto uses = certificate_uses(alias); !uses.empty()) {
      return Status::Conflict("certificate " + alias + " is in use: " + joined(uses) +
                              "; it can be removed once nothing uses or schedules it");
    }
    AppendBuilder b;
    // A certificate's stream holds its import only, until this.
    b.add(certificate_stream(alias), ExpectedVersion::Exactly(1), CertificateRemoved{why});
    return commit(b.build(ctx, ""), CommandResult());
  }));
  // Once the removal is recorded: a crash before this leaves the key to the next open.
  const Status destroyed = destroy_removed_keys();
  if (!destroyed.ok()) {
    result.warnings.push_back("the sealed key could not be destroyed yet (" + destroyed.message() +
                              "); it is destroyed when the store is next opened");
  }
  return result;
}

// Under the lock: an import of the same certificate again must not race its destruction.
Status Engine::destroy_removed_keys() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> fingerprints;
  for (const auto& [alias, c] : state_.removed_certificates()) {
    // The same certificate may have been imported again under another alias.
    if (c.cert.local && !state_.certificate_by_fingerprint(c.cert.fingerprint)) fingerprints.push_back(c.cert.fingerprint);
  }
  if (fingerprints.empty()) return Status::Ok();
  CERTSCHED_ASSIGN_OR_RETURN(auto vault, key_vault());
  for (const auto& fp : fingerprints) {
    if (vault.holds(fp)) CERTSCHED_RETURN_IF_ERROR(vault.destroy(fp));
  }
  return Status::Ok();
}

}  // namespace certsched::domain
