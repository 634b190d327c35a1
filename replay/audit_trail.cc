#include "replay/audit_trail.h"

#include "domain/event_codec.h"
#include "domain/expiry_alerts.h"
#include "domain/instant.h"
#include "domain/state.h"

namespace certsched::replay {
namespace {

using namespace domain;

std::string role_name(uint8_t r) { return to_string(static_cast<Role>(r)); }

// A readable line for an event, from the state just after it.
std::string describe(const eventstore::RecordedEvent& r, const Event& e, const DomainState& s) {
  return std::visit(
      [&](const auto& ev) -> std::string {
        using T = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<T, SystemInitialized>) {
          return "store initialised; admin " + ev.admin_email;
        } else if constexpr (std::is_same_v<T, SystemOptionsChanged>) {
          std::string days;
          for (uint32_t d : ev.expiry_alert_days) days += (days.empty() ? "" : ",") + std::to_string(d);
          return "system options set: admin " + ev.admin_email + ", SMTP " +
                 (ev.smtp_url.empty() ? std::string("(none)") : ev.smtp_url) + ", sender " + ev.mail_from +
                 ", expiry alerts " + (days.empty() ? std::string("(none)") : days) + " days before";
        } else if constexpr (std::is_same_v<T, CertificateImported>) {
          return std::string(ev.local ? "local" : "partner") + " certificate " + ev.alias + " imported (" + ev.subject +
                 ", SHA-256 " + ev.fingerprint + ", valid to " + format_instant(ev.not_after_ns) + ")";
        } else if constexpr (std::is_same_v<T, PartnerAdded>) {
          std::string certs;
          for (const auto& c : ev.certificates) certs += (certs.empty() ? "" : ", ") + role_name(c.role) + "=" + c.alias;
          // The id of a removed partner, taken again: another partner, which the trail tells apart.
          const auto* p = s.partner(ev.id);
          const std::string again = p && p->generation > 1 ? " as a new partner (its id was reused after a removal)" : "";
          return "partner " + ev.id + " added" + again + " (" + to_string(static_cast<Protocol>(ev.protocol)) +
                 (ev.cem ? ", CEM" : "") + ")" + (certs.empty() ? "" : ": " + certs);
        } else if constexpr (std::is_same_v<T, PartnerUpdated>) {
          return "partner details set: " + std::string(to_string(static_cast<Protocol>(ev.protocol))) +
                 (ev.cem ? ", CEM" : ", no CEM") + ", email " + ev.email;
        } else if constexpr (std::is_same_v<T, PartnerRemoved>) {
          return "partner removed: " + ev.reason;
        } else if constexpr (std::is_same_v<T, CertificateRemoved>) {
          const auto* c = s.removed_certificate(std::string(stream_id(r.stream, StreamKind::kCertificate).value_or("")));
          return "certificate removed: " + ev.reason +
                 (c && c->cert.local ? "; its sealed private key is destroyed" : "");
        } else if constexpr (std::is_same_v<T, PartnerCertificateActivated>) {
          return role_name(ev.role) + " is now " + ev.alias + " (schedule " + ev.schedule_id + ")";
        } else if constexpr (std::is_same_v<T, ScheduleProposed>) {
          return "proposed " + role_name(ev.role) + " " + ev.alias + " for " + ev.partner + " from " +
                 format_instant(ev.activate_at_ns) + (ev.first_usage ? " or first usage" : "") +
                 (ev.email_partner ? ", partner to be mailed" : "") + " (proposal " + ev.proposal_id + ")";
        } else if constexpr (std::is_same_v<T, ScheduleConfirmed>) {
          return "confirmed";
        } else if constexpr (std::is_same_v<T, ScheduleDeclined>) {
          return "declined";
        } else if constexpr (std::is_same_v<T, ScheduleQueued>) {
          return "waiting for its activation time";
        } else if constexpr (std::is_same_v<T, PartnerMailSent>) {
          return "partner mail accepted by the SMTP server " + ev.message_id;
        } else if constexpr (std::is_same_v<T, PartnerMailFailed>) {
          return "partner mail failed (attempt " + std::to_string(ev.attempt) + "): " + ev.error;
        } else if constexpr (std::is_same_v<T, EmailSkipped>) {
          return "partner mail skipped: " + ev.reason;
        } else if constexpr (std::is_same_v<T, ScheduleCancelled>) {
          return "cancelled: " + ev.reason;
        } else if constexpr (std::is_same_v<T, ScheduleActivated>) {
          static const char* kCause[] = {"its scheduled time", "first usage", "its listener's install"};
          const auto* sc = s.schedule(std::string(stream_id(r.stream, StreamKind::kSchedule).value_or("")));
          return "activated by " + std::string(kCause[ev.cause]) + ": " + (sc ? sc->proposed.alias : "?") + " replaces " +
                 (ev.previous_alias.empty() ? "nothing" : ev.previous_alias);
        } else if constexpr (std::is_same_v<T, ListenerConfigured>) {
          return "listener configured with " + ev.alias + " in " + ev.dir;
        } else if constexpr (std::is_same_v<T, ListenerChangeProposed>) {
          return "new server certificate " + ev.alias + " pending (proposal " + ev.proposal_id + ")";
        } else if constexpr (std::is_same_v<T, ListenerChangeWithdrawn>) {
          return "pending server certificate withdrawn";
        } else if constexpr (std::is_same_v<T, ListenerCertificateInstalled>) {
          return "installed " + ev.alias;
        } else if constexpr (std::is_same_v<T, ListenerInstallFailed>) {
          return "install failed (attempt " + std::to_string(ev.attempt) + "): " + ev.error;
        } else if constexpr (std::is_same_v<T, ExpiryAlertRaised>) {
          std::string uses;
          for (size_t i = 0; i < ev.uses.size(); ++i) {
            uses += (uses.empty() ? "" : "; ") + ev.uses[i] + (ev.replacements[i].empty() ? "" : " (replacement " + ev.replacements[i] + ")");
          }
          return "expiry alert (" + threshold_name(ev.threshold_days) + "): " + ev.alias + " expires " +
                 format_instant(ev.not_after_ns) + ", used by " + uses;
        } else if constexpr (std::is_same_v<T, NotificationDelivered>) {
          return "notification " + ev.notification_id + " delivered " + ev.message_id;
        } else {
          return "notification " + ev.notification_id + " failed (attempt " + std::to_string(ev.attempt) + "): " + ev.error;
        }
      },
      e);
}

std::string state_after(const eventstore::RecordedEvent& r, const DomainState& s) {
  if (auto id = stream_id(r.stream, StreamKind::kSchedule)) {
    const auto* sc = s.schedule(std::string(*id));
    return sc ? statemachines::to_string(sc->state()) : "";
  }
  if (auto id = stream_id(r.stream, StreamKind::kListener)) {
    const auto lid = parse_listener(*id);
    const auto* l = lid ? s.listener(*lid) : nullptr;
    return l ? std::string(statemachines::to_string(l->machine.state())) + ", serving " + (l->current ? l->current->alias : "-") : "";
  }
  if (auto id = stream_id(r.stream, StreamKind::kPartner)) {
    const auto* p = s.partner(std::string(*id));
    if (!p) return "removed";
    std::string out;
    for (uint8_t i = 0; p && i < kRoleCount; ++i) {
      if (p->current[i]) out += (out.empty() ? "" : ", ") + role_name(i) + "=" + p->current[i]->alias;
    }
    return out;
  }
  return "";
}

bool matches(const eventstore::RecordedEvent& r, const Event& e, const DomainState& s, const AuditFilter& f) {
  const auto schedule_id = stream_id(r.stream, StreamKind::kSchedule);
  const ScheduleRecord* sc = schedule_id ? s.schedule(std::string(*schedule_id)) : nullptr;
  if (!f.partner.empty()) {
    const bool about = r.stream == partner_stream(f.partner) || (sc && sc->proposed.partner == f.partner);
    if (!about) return false;
  }
  if (!f.proposal.empty()) {
    const auto* change = std::get_if<ListenerChangeProposed>(&e);
    const bool about = (sc && sc->proposed.proposal_id == f.proposal) || (change && change->proposal_id == f.proposal);
    if (!about) return false;
  }
  if (!f.cert.empty()) {
    bool about = r.stream == certificate_stream(f.cert) || (sc && sc->proposed.alias == f.cert);
    if (const auto* a = std::get_if<PartnerAdded>(&e)) {
      for (const auto& c : a->certificates) about |= c.alias == f.cert;
    }
    if (const auto* a = std::get_if<PartnerCertificateActivated>(&e)) about |= a->alias == f.cert;
    if (const auto* l = std::get_if<ListenerConfigured>(&e)) about |= l->alias == f.cert;
    if (const auto* l = std::get_if<ListenerChangeProposed>(&e)) about |= l->alias == f.cert;
    if (const auto* l = std::get_if<ListenerCertificateInstalled>(&e)) about |= l->alias == f.cert;
    if (!about) return false;
  }
  return true;
}

}  // namespace

std::string describe_event(const eventstore::RecordedEvent& r, const Event& event, const DomainState& after) {
  return describe(r, event, after);
}

nlohmann::json to_json(const AuditEntry& a) {
  return {{"position", a.position}, {"time", format_instant(a.time_ns)}, {"actor", a.actor}, {"interface", a.interface},
          {"stream", a.stream}, {"event", a.event}, {"what", a.what}, {"state", a.state}, {"command_id", a.command_id}};
}

Result<std::vector<AuditEntry>> audit_trail(eventstore::EventStore& store, const AuditFilter& filter) {
  DomainState state;
  std::vector<AuditEntry> out;
  for (uint64_t next = 1;;) {
    CERTSCHED_ASSIGN_OR_RETURN(auto batch, store.read_all(next, 4096));
    if (batch.empty()) break;
    for (const auto& r : batch) {
      CERTSCHED_ASSIGN_OR_RETURN(auto event, decode_event(r));
      CERTSCHED_RETURN_IF_ERROR(state.apply(r, event));
      if (!matches(r, event, state, filter)) continue;
      AuditEntry a;
      a.position = r.position;
      a.time_ns = r.time_ns;
      a.actor = r.actor;
      a.interface = r.actor.substr(0, r.actor.find(':'));
      a.stream = r.stream;
      a.event = r.type;
      a.what = describe(r, event, state);
      a.state = state_after(r, state);
      a.command_id = r.command_id;
      out.push_back(std::move(a));
    }
    next = batch.back().position + 1;
  }
  // Removed partners and certificates keep their audit trail.
  if (!filter.partner.empty() && !state.partner(filter.partner) && !state.removed_partner(filter.partner)) {
    return Status::NotFound("no partner " + filter.partner);
  }
  if (!filter.cert.empty() && !state.certificate(filter.cert) && !state.removed_certificate(filter.cert)) {
    return Status::NotFound("no certificate " + filter.cert);
  }
  if (!filter.proposal.empty() && state.schedules_of_proposal(filter.proposal).empty()) {
    return Status::NotFound("no proposal " + filter.proposal);
  }
  return out;
}

}  // namespace certsched::replay
