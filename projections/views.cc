#include "projections/views.h"

#include "domain/instant.h"

namespace certsched::projections {

using nlohmann::json;
using domain::format_instant;

json cert_json(const domain::CertRef& c) {
  return {{"alias", c.alias}, {"fingerprint", c.fingerprint}, {"not_after", format_instant(c.not_after_ns)}};
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

json schedule_json(const domain::ScheduleRecord& s) {
  json j = {{"id", s.proposed.schedule_id},
            {"proposal", s.proposed.proposal_id},
            {"partner", s.proposed.partner},
            {"role", domain::to_string(s.role())},
            {"alias", s.proposed.alias},
            {"fingerprint", s.proposed.fingerprint},
            {"state", statemachines::to_string(s.state())},
            {"activate_at", format_instant(s.proposed.activate_at_ns)},
            {"first_usage", s.proposed.first_usage != 0},
            {"email_partner", s.proposed.email_partner != 0},
            {"proposed_by", s.proposed_by},
            {"proposed_at", format_instant(s.proposed_at_ns)}};
  if (s.mail_attempts) {
    j["mail_attempts"] = s.mail_attempts;
    j["last_mail_error"] = s.last_mail_error;
  }
  if (!s.reason.empty()) j["reason"] = s.reason;
  if (s.activated_at_ns) j["activated_at"] = format_instant(s.activated_at_ns);
  return j;
}

json partner_json(const domain::DomainState& state, const domain::PartnerRecord& p) {
  json current = json::object(), pending = json::object();
  for (uint8_t r = 0; r < domain::kRoleCount; ++r) {
    const auto role = static_cast<domain::Role>(r);
    if (p.current[r]) current[domain::to_string(role)] = cert_json(*p.current[r]);
    if (const auto* s = state.open_schedule(p.id, role)) pending[domain::to_string(role)] = schedule_json(*s);
  }
  json history = json::array();
  for (const auto& h : p.history) {
    history.push_back({{"role", domain::to_string(h.role)},
                       {"alias", h.cert.alias},
                       {"fingerprint", h.cert.fingerprint},
                       {"from", h.from_ns ? json(format_instant(h.from_ns)) : json(nullptr)},
                       {"until", format_instant(h.until_ns)},
                       {"replaced_by", h.replaced_by_schedule}});
  }
  return {{"id", p.id},           {"protocol", domain::to_string(p.protocol)}, {"cem", p.cem},
          {"email", p.email},     {"listener", domain::to_string(domain::listener_for(p.protocol))},
          {"current", current},   {"pending", pending},
          {"history", history}};
}

json listener_json(domain::Engine* engine, const domain::DomainState& state, const domain::ListenerRecord& l,
                   int64_t now_ns) {
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
    json blocked_by = json::array(), reasons = json::array();
    if (engine) {
      if (auto ready = engine->listener_readiness(l.listener, now_ns); ready.ok()) {
        for (const auto& b : ready->blockers) {
          blocked_by.push_back(b.partner);
          reasons.push_back(b.partner + " " + b.reason);
        }
      }
    }
    j["pending"] = {{"alias", l.pending->alias},
                    {"fingerprint", l.pending->fingerprint},
                    {"proposal", l.pending_proposal},
                    {"activate_at", format_instant(activate_at)},
                    {"blocked_by", blocked_by},
                    {"blocked_because", reasons}};
  }
  return j;
}

json result_json(const domain::CommandResult& r) {
  return {{"first_position", r.first_position}, {"last_position", r.last_position}, {"duplicate", r.duplicate},
          {"warnings", r.warnings},             {"notes", r.notes}};
}

}  // namespace certsched::projections
