// Domain events: plain structs with fixed-width fields, held in one std::variant.
// Each names itself (kType) and its payload schema version (kSchemaVersion); a stored
// event whose name or version is unknown is corruption, never guessed at. Enumerations
// are stored as uint8_t and range-checked by valid() when decoded.
//
// Events carry public certificates and fingerprints only: never a key or a password.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "domain/roles.h"

namespace certsched::domain {

inline bool valid_role(uint8_t r) { return r < kRoleCount; }
inline bool valid_protocol(uint8_t p) { return p < kProtocolCount; }
inline bool valid_listener(uint8_t l) { return l < kListenerCount; }

#define CERTSCHED_EVENT(Name, Version)             \
  static constexpr const char* kType = #Name;      \
  static constexpr uint16_t kSchemaVersion = Version

// Stream "system". `certsched init`: the system options.
struct SystemInitialized {
  CERTSCHED_EVENT(SystemInitialized, 1);
  std::string admin_email;
  std::string smtp_url;  // empty when no SMTP server is configured
  std::string mail_from;
  template <class A> void serialize(A& ar) { ar(admin_email, smtp_url, mail_from); }
  bool valid() const { return true; }
  bool operator==(const SystemInitialized& o) const {
    return admin_email == o.admin_email && smtp_url == o.smtp_url && mail_from == o.mail_from;
  }
};

// Stream "cert-ALIAS". The public certificate; a local one's key is sealed in the key vault.
struct CertificateImported {
  CERTSCHED_EVENT(CertificateImported, 1);
  std::string alias;
  uint8_t local = 0;  // 1: "My Certs" (with a private key); 0: "Trading Partner Certs"
  std::string fingerprint;
  std::string subject;
  std::string issuer;
  std::string serial;
  int64_t not_before_ns = 0;
  int64_t not_after_ns = 0;
  uint32_t key_usage = 0;
  uint32_t extended_key_usage = 0;
  std::string key_type;
  std::string der;
  std::vector<std::string> chain_der;
  template <class A> void serialize(A& ar) {
    ar(alias, local, fingerprint, subject, issuer, serial, not_before_ns, not_after_ns, key_usage,
       extended_key_usage, key_type, der, chain_der);
  }
  bool valid() const { return local <= 1 && !alias.empty() && !fingerprint.empty(); }
};

struct RoleAssignment {
  uint8_t role = 0;
  std::string alias;
  std::string fingerprint;
  template <class A> void serialize(A& ar) { ar(role, alias, fingerprint); }
};

// Stream "partner-ID".
struct PartnerAdded {
  CERTSCHED_EVENT(PartnerAdded, 1);
  std::string id;
  uint8_t protocol = 0;
  std::string email;
  uint8_t cem = 0;
  std::vector<RoleAssignment> certificates;  // the partner's current certificate per role
  template <class A> void serialize(A& ar) { ar(id, protocol, email, cem, certificates); }
  bool valid() const {
    if (!valid_protocol(protocol) || cem > 1) return false;
    for (const auto& c : certificates) if (!valid_role(c.role)) return false;
    return true;
  }
};

// Stream "partner-ID": a schedule made `alias` current for `role` (the old one is history).
struct PartnerCertificateActivated {
  CERTSCHED_EVENT(PartnerCertificateActivated, 1);
  uint8_t role = 0;
  std::string alias;
  std::string fingerprint;
  std::string schedule_id;
  template <class A> void serialize(A& ar) { ar(role, alias, fingerprint, schedule_id); }
  bool valid() const { return valid_role(role); }
};

// Stream "listener-NAME".
struct ListenerConfigured {
  CERTSCHED_EVENT(ListenerConfigured, 1);
  uint8_t listener = 0;
  std::string alias;
  std::string fingerprint;
  std::string dir;
  std::string reload_command;
  template <class A> void serialize(A& ar) { ar(listener, alias, fingerprint, dir, reload_command); }
  bool valid() const { return valid_listener(listener); }
};

// Stream "listener-NAME": an open schedule names a new server certificate for it.
struct ListenerChangeProposed {
  CERTSCHED_EVENT(ListenerChangeProposed, 1);
  std::string alias;
  std::string fingerprint;
  std::string proposal_id;
  template <class A> void serialize(A& ar) { ar(alias, fingerprint, proposal_id); }
  bool valid() const { return true; }
};

// Stream "listener-NAME": no open schedule names the pending certificate any more.
struct ListenerChangeWithdrawn {
  CERTSCHED_EVENT(ListenerChangeWithdrawn, 1);
  std::string fingerprint;
  template <class A> void serialize(A& ar) { ar(fingerprint); }
  bool valid() const { return true; }
};

struct ListenerCertificateInstalled {
  CERTSCHED_EVENT(ListenerCertificateInstalled, 1);
  std::string alias;
  std::string fingerprint;
  std::string previous_fingerprint;
  template <class A> void serialize(A& ar) { ar(alias, fingerprint, previous_fingerprint); }
  bool valid() const { return true; }
};

struct ListenerInstallFailed {
  CERTSCHED_EVENT(ListenerInstallFailed, 1);
  std::string fingerprint;
  std::string error;
  uint32_t attempt = 0;
  template <class A> void serialize(A& ar) { ar(fingerprint, error, attempt); }
  bool valid() const { return true; }
};

// Stream "schedule-ID", correlation id: the proposal.
struct ScheduleProposed {
  CERTSCHED_EVENT(ScheduleProposed, 1);
  std::string schedule_id;
  std::string proposal_id;
  std::string partner;
  uint8_t role = 0;
  std::string alias;
  std::string fingerprint;
  int64_t activate_at_ns = 0;  // "now" is recorded as the instant it was proposed
  uint8_t email_partner = 0;
  uint8_t first_usage = 0;     // first usage can activate it before its time
  uint8_t forced = 0;          // an SSL option was forced past its safety rule
  template <class A> void serialize(A& ar) {
    ar(schedule_id, proposal_id, partner, role, alias, fingerprint, activate_at_ns, email_partner,
       first_usage, forced);
  }
  bool valid() const {
    return valid_role(role) && email_partner <= 1 && first_usage <= 1 && forced <= 1;
  }
};

struct ScheduleConfirmed {
  CERTSCHED_EVENT(ScheduleConfirmed, 1);
  template <class A> void serialize(A&) {}
  bool valid() const { return true; }
};

struct ScheduleDeclined {
  CERTSCHED_EVENT(ScheduleDeclined, 1);
  template <class A> void serialize(A&) {}
  bool valid() const { return true; }
};

// The schedule waits for its activation time (confirmed without email, or mailed, or skipped).
struct ScheduleQueued {
  CERTSCHED_EVENT(ScheduleQueued, 1);
  template <class A> void serialize(A&) {}
  bool valid() const { return true; }
};

struct PartnerMailSent {
  CERTSCHED_EVENT(PartnerMailSent, 1);
  std::string message_id;
  template <class A> void serialize(A& ar) { ar(message_id); }
  bool valid() const { return true; }
};

struct PartnerMailFailed {
  CERTSCHED_EVENT(PartnerMailFailed, 1);
  std::string error;
  uint32_t attempt = 0;
  template <class A> void serialize(A& ar) { ar(error, attempt); }
  bool valid() const { return true; }
};

struct EmailSkipped {
  CERTSCHED_EVENT(EmailSkipped, 1);
  std::string reason;
  template <class A> void serialize(A& ar) { ar(reason); }
  bool valid() const { return true; }
};

struct ScheduleCancelled {
  CERTSCHED_EVENT(ScheduleCancelled, 1);
  std::string reason;
  template <class A> void serialize(A& ar) { ar(reason); }
  bool valid() const { return true; }
};

enum class ActivationCause : uint8_t { kScheduledTime, kFirstUsage, kListenerInstall };

struct ScheduleActivated {
  CERTSCHED_EVENT(ScheduleActivated, 1);
  uint8_t cause = 0;  // ActivationCause
  std::string previous_alias;
  std::string previous_fingerprint;
  template <class A> void serialize(A& ar) { ar(cause, previous_alias, previous_fingerprint); }
  bool valid() const { return cause <= static_cast<uint8_t>(ActivationCause::kListenerInstall); }
};

// Stream "notifications": an admin notification the SMTP server accepted, or refused.
struct NotificationDelivered {
  CERTSCHED_EVENT(NotificationDelivered, 1);
  std::string notification_id;
  std::string message_id;
  template <class A> void serialize(A& ar) { ar(notification_id, message_id); }
  bool valid() const { return !notification_id.empty(); }
};

struct NotificationFailed {
  CERTSCHED_EVENT(NotificationFailed, 1);
  std::string notification_id;
  std::string error;
  uint32_t attempt = 0;
  template <class A> void serialize(A& ar) { ar(notification_id, error, attempt); }
  bool valid() const { return !notification_id.empty(); }
};

// Stream "system". `certsched options set` (or `init --expiry-alert-days`): every system
// option as it is from here on, changed or not, so that each such event is the whole truth.
struct SystemOptionsChanged {
  CERTSCHED_EVENT(SystemOptionsChanged, 1);
  std::string admin_email;
  std::string smtp_url;  // empty: no SMTP server
  std::string mail_from;
  std::vector<uint32_t> expiry_alert_days;  // descending, each 1 to 3650
  template <class A> void serialize(A& ar) { ar(admin_email, smtp_url, mail_from, expiry_alert_days); }
  bool valid() const { return !admin_email.empty() && expiry_alert_days.size() <= kMaxExpiryAlerts; }
  static constexpr size_t kMaxExpiryAlerts = 16;
};

// Stream "partner-ID", `certsched partner update`: the partner's protocol, email and CEM
// flag as they are from here on, changed or not, so that each such event is the whole truth.
struct PartnerUpdated {
  CERTSCHED_EVENT(PartnerUpdated, 1);
  uint8_t protocol = 0;
  std::string email;
  uint8_t cem = 0;
  template <class A> void serialize(A& ar) { ar(protocol, email, cem); }
  bool valid() const { return valid_protocol(protocol) && cem <= 1; }
};

// Stream "partner-ID": the partner is retired (it had no open schedule). Its history stays;
// its id is added again only on purpose (`partner add --reuse-id`), on the same stream.
struct PartnerRemoved {
  CERTSCHED_EVENT(PartnerRemoved, 1);
  std::string reason;
  template <class A> void serialize(A& ar) { ar(reason); }
  bool valid() const { return !reason.empty(); }
};

// Stream "cert-ALIAS": the certificate is retired (nothing used or scheduled it). A local
// one's sealed key is destroyed once this is recorded; the alias is not used again.
struct CertificateRemoved {
  CERTSCHED_EVENT(CertificateRemoved, 1);
  std::string reason;
  template <class A> void serialize(A& ar) { ar(reason); }
  bool valid() const { return !reason.empty(); }
};

// Stream "alerts": a certificate in use crossed an expiry threshold of the system options
// (or, expired and still in use, a new day began). The admin is mailed once per event.
// Who used it, and what was scheduled to replace it there, as they were then.
struct ExpiryAlertRaised {
  CERTSCHED_EVENT(ExpiryAlertRaised, 1);
  std::string alias;
  std::string fingerprint;
  int64_t not_after_ns = 0;
  uint32_t threshold_days = 0;  // 0: expired (then one alert a day)
  int64_t day = 0;              // the alert's day, in days since 1970-01-01 (UTC)
  std::vector<std::string> uses;          // "partner acme local-signing", "listener HTTP"
  std::vector<std::string> replacements;  // per use: what replaces it there, or ""
  template <class A> void serialize(A& ar) { ar(alias, fingerprint, not_after_ns, threshold_days, day, uses, replacements); }
  bool valid() const { return !fingerprint.empty() && uses.size() == replacements.size(); }
};

#undef CERTSCHED_EVENT

using Event = std::variant<SystemInitialized, CertificateImported, PartnerAdded,
                           PartnerCertificateActivated, ListenerConfigured, ListenerChangeProposed,
                           ListenerChangeWithdrawn, ListenerCertificateInstalled,
                           ListenerInstallFailed, ScheduleProposed, ScheduleConfirmed,
                           ScheduleDeclined, ScheduleQueued, PartnerMailSent, PartnerMailFailed,
                           EmailSkipped, ScheduleCancelled, ScheduleActivated, NotificationDelivered,
                           NotificationFailed, SystemOptionsChanged, PartnerUpdated, PartnerRemoved,
                           CertificateRemoved, ExpiryAlertRaised>;

}  // namespace certsched::domain
