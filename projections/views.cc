#include "projections/views.h"

#include <algorithm>
#include <array>

#include "domain/certificate.h"
#include "domain/instant.h"
#include "domain/listener_readiness.h"
#include "projections/json_writer.h"

namespace certsched::projections {

using nlohmann::json;
using domain::format_instant;

namespace {

// Every object's keys are written in sorted order: see json_writer.h.

void write_cert(JsonWriter& w, const domain::CertRef& c) {
  w.begin_object()
      .field("alias", c.alias)
      .field("fingerprint", c.fingerprint)
      .field("not_after", format_instant(c.not_after_ns))
      .end_object();
}

void write_schedule(JsonWriter& w, const domain::ScheduleRecord& s) {
  w.begin_object().field("activate_at", format_instant(s.proposed.activate_at_ns));
  if (s.activated_at_ns) w.field("activated_at", format_instant(s.activated_at_ns));
  w.field("alias", s.proposed.alias)
      .field("email_partner", s.proposed.email_partner != 0)
      .field("fingerprint", s.proposed.fingerprint)
      .field("first_usage", s.proposed.first_usage != 0)
      .field("id", s.proposed.schedule_id);
  if (s.mail_attempts) w.field("last_mail_error", s.last_mail_error).field("mail_attempts", s.mail_attempts);
  w.field("partner", s.proposed.partner)
      .field("proposal", s.proposed.proposal_id)
      .field("proposed_at", format_instant(s.proposed_at_ns))
      .field("proposed_by", s.proposed_by);
  if (!s.reason.empty()) w.field("reason", s.reason);
  w.field("role", domain::to_string(s.role())).field("state", statemachines::to_string(s.state())).end_object();
}

// The roles in the order of their names, as keys of the partner view's objects.
const std::array<domain::Role, domain::kRoleCount>& roles_by_name() {
  static const auto sorted = [] {
    std::array<domain::Role, domain::kRoleCount> roles;
    for (uint8_t r = 0; r < domain::kRoleCount; ++r) roles[r] = static_cast<domain::Role>(r);
    std::sort(roles.begin(), roles.end(), [](domain::Role a, domain::Role b) {
      return std::string_view(domain::to_string(a)) < domain::to_string(b);
    });
    return roles;
  }();
  return sorted;
}

}  // namespace

std::string schedule_text(const domain::ScheduleRecord& s) {
  JsonWriter w;
  write_schedule(w, s);
  return w.take();
}

std::string partner_text(const domain::DomainState& state, const domain::PartnerRecord& p) {
  JsonWriter w;
  w.begin_object().field("cem", p.cem).key("current").begin_object();
  for (domain::Role role : roles_by_name()) {
    if (const auto& c = p.current[static_cast<size_t>(role)]) write_cert(w.key(domain::to_string(role)), *c);
  }
  w.end_object().field("email", p.email).key("history").begin_array();
  for (const auto& h : p.history) {
    w.begin_object().field("alias", h.cert.alias).field("fingerprint", h.cert.fingerprint).key("from");
    if (h.from_ns) w.value(format_instant(h.from_ns));
    else w.null();
    w.field("replaced_by", h.replaced_by_schedule)
        .field("role", domain::to_string(h.role))
        .field("until", format_instant(h.until_ns))
        .end_object();
  }
  w.end_array()
      .field("id", p.id)
      .field("listener", domain::to_string(domain::listener_for(p.protocol)))
      .key("pending")
      .begin_object();
  for (domain::Role role : roles_by_name()) {
    if (const auto* s = state.open_schedule(p, role)) write_schedule(w.key(domain::to_string(role)), *s);
  }
  return w.end_object().field("protocol", domain::to_string(p.protocol)).end_object().take();
}

json cert_json(const domain::CertRef& c) {
  JsonWriter w;
  write_cert(w, c);
  return json::parse(w.take());
}

json schedule_json(const domain::ScheduleRecord& s) { return json::parse(schedule_text(s)); }

json partner_json(const domain::DomainState& state, const domain::PartnerRecord& p) {
  return json::parse(partner_text(state, p));
}

json certificate_json(const domain::CertificateRecord& c) {
  return {{"alias", c.cert.alias},
          {"local", c.cert.local != 0},
          {"fingerprint", c.cert.fingerprint},
          {"subject", c.cert.subject},
          {"issuer", c.cert.issuer},
          {"serial", c.cert.serial},
          {"key_type", c.cert.key_type},
          {"not_before", format_instant(c.cert.not_before_ns)},
          {"not_after", format_instant(c.cert.not_after_ns)},
          {"imported_at", format_instant(c.imported_at_ns)},
          {"imported_by", c.imported_by}};
}

namespace {

void add_removal(json& j, int64_t removed_at_ns, const std::string& by, const std::string& reason) {
  j["removed_at"] = format_instant(removed_at_ns);
  j["removed_by"] = by;
  j["reason"] = reason;
}

}  // namespace

json partner_answer_json(const domain::DomainState& state, const std::string& id) {
  if (const domain::PartnerRecord* p = state.partner(id)) return partner_json(state, *p);
  if (const domain::PartnerRecord* p = state.removed_partner(id)) return removed_partner_json(*p);
  return {{"id", id}};  // not reached: a command that names a partner leaves it in one of the two
}

json imported_certificate_json(const domain::DomainState& state, const std::string& alias,
                               const domain::CommandResult& r) {
  const domain::CertificateRecord* c = state.certificate(alias);
  const domain::CertificateRecord* removed = c ? nullptr : state.removed_certificate(alias);
  if (!c && !removed) return {{"alias", alias}, {"warnings", r.warnings}, {"duplicate", r.duplicate}};
  json j = certificate_json(c ? *c : *removed);
  if (removed) add_removal(j, removed->removed_at_ns, removed->removed_by, removed->removal_reason);
  json fits = json::array();
  const domain::CertificateImported& imported = (c ? *c : *removed).cert;
  for (domain::Role role : domain::fitting_roles(domain::info_of(imported), imported.local != 0)) {
    fits.push_back(domain::to_string(role));
  }
  j["fits"] = fits;
  j["warnings"] = r.warnings;
  j["duplicate"] = r.duplicate;
  return j;
}

json removed_partner_json(const domain::PartnerRecord& p) {
  json j = {{"id", p.id}, {"protocol", domain::to_string(p.protocol)}, {"email", p.email}};
  add_removal(j, p.removed_at_ns, p.removed_by, p.removal_reason);
  return j;
}

json removed_certificate_json(const domain::CertificateRecord& c, const domain::CommandResult& r) {
  json j = certificate_json(c);
  add_removal(j, c.removed_at_ns, c.removed_by, c.removal_reason);
  // A warning says the key could not be destroyed yet (the engine retries on next open).
  j["sealed_key_destroyed"] = c.cert.local != 0 && r.warnings.empty();
  j["warnings"] = r.warnings;
  return j;
}

json listener_json(const domain::DomainState& state, const domain::ListenerRecord& l, std::optional<int64_t> now_ns) {
  json j = {{"listener", domain::to_string(l.listener)},
            {"current", l.current ? cert_json(*l.current) : json(nullptr)},
            {"dir", l.dir},
            {"reload_command", l.reload_command},
            {"pending", nullptr}};
  if (l.install_failures) {
    j["install_failures"] = l.install_failures;
    j["last_error"] = l.last_error;
  }
  if (l.pending) {
    int64_t activate_at = 0;
    for (const auto& id : state.schedule_ids()) {
      const auto* s = state.schedule(id);
      if (statemachines::is_open(s->state()) && s->role() == domain::Role::kLocalSslServer &&
          s->proposed.fingerprint == l.pending->fingerprint) {
        activate_at = std::max(activate_at, s->proposed.activate_at_ns);
      }
    }
    json blocked_by = json::array(), reasons = json::array(), waiting = json::array();
    if (now_ns) {
      const domain::ListenerReadiness ready = domain::listener_readiness(state, l.listener, *now_ns);
      for (const auto& b : ready.blockers) {
        blocked_by.push_back(b.partner);
        reasons.push_back(b.partner + " " + b.reason);
      }
      for (const auto& w : ready.waits) waiting.push_back(w.partner + " " + w.reason);
    }
    j["pending"] = {{"alias", l.pending->alias},
                    {"fingerprint", l.pending->fingerprint},
                    {"proposal", l.pending_proposal},
                    {"activate_at", format_instant(activate_at)},
                    {"blocked_by", blocked_by},
                    {"blocked_because", reasons},
                    {"waiting_for", waiting}};
  }
  return j;
}

json options_json(const domain::DomainState& state) {
  const domain::SystemInitialized* o = state.system();
  if (!o) return json::object();
  return {{"admin_email", o->admin_email},
          {"smtp", o->smtp_url},
          {"mail_from", o->mail_from},
          {"expiry_alert_days", state.expiry_alert_days()}};
}

json result_json(const domain::CommandResult& r) {
  return {{"first_position", r.first_position}, {"last_position", r.last_position}, {"duplicate", r.duplicate},
          {"warnings", r.warnings},             {"notes", r.notes}};
}

}  // namespace certsched::projections
