#include "replay/reports.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>

#include "domain/expiry_alerts.h"
#include "domain/listener_readiness.h"
#include "domain/instant.h"
#include "projections/json_text.h"

namespace certsched::replay {

using domain::format_instant;
using domain::Role;

namespace {

constexpr int64_t kDay = 86400LL * 1'000'000'000;


ReportTable inventory(const domain::DomainState& s) {
  ReportTable t{{"partner", "role", "current_alias", "current_fingerprint", "current_not_after", "pending_alias",
                 "pending_fingerprint", "pending_activate_at", "pending_state", "pending_schedule"},
                {}};
  for (const auto& [id, p] : s.partners()) {
    for (uint8_t r = 0; r < domain::kRoleCount; ++r) {
      const auto role = static_cast<Role>(r);
      const auto* open = s.open_schedule(p, role);
      if (!p.current[r] && !open) continue;
      const auto& c = p.current[r];
      t.rows.push_back({id, domain::to_string(role), c ? c->alias : "", c ? c->fingerprint : "",
                        c ? format_instant(c->not_after_ns) : "", open ? open->proposed.alias : "",
                        open ? open->proposed.fingerprint : "", open ? format_instant(open->proposed.activate_at_ns) : "",
                        open ? statemachines::to_string(open->state()) : "", open ? open->proposed.schedule_id : ""});
    }
  }
  return t;
}

// Each use of a certificate in use that expires within the horizon and has no confirmed
// replacement in time: what the expiry alerts cover, and what they have said so far.
ReportTable expiring(const domain::DomainState& s, const ReportOptions& o) {
  ReportTable t{{"partner", "role", "alias", "fingerprint", "not_after", "days_left", "listener", "replacement", "alerted"}, {}};
  // Saturates: --within 100000000 means "everything", not an overflow.
  const int64_t days_to_end = (INT64_MAX - o.now_ns) / kDay;
  const int64_t horizon = o.within_days >= days_to_end ? INT64_MAX : o.now_ns + o.within_days * kDay;
  for (const domain::CertificateInUse& c : domain::certificates_in_use(s)) {
    if (c.cert.not_after_ns > horizon) continue;
    const domain::ExpiryAlertRecord* alerted = s.expiry_alerts(c.cert.fingerprint);
    const std::string last_alert = !alerted                  ? ""
                                   : alerted->expired_day != 0 ? domain::threshold_name(0)
                                                               : domain::threshold_name(alerted->smallest_threshold);
    for (const domain::CertificateUse& u : c.uses) {
      if (u.covered) continue;
      const int64_t left = (c.cert.not_after_ns - o.now_ns) / kDay;
      t.rows.push_back({u.partner, domain::to_string(u.role), c.cert.alias, c.cert.fingerprint,
                        format_instant(c.cert.not_after_ns), std::to_string(left),
                        u.listener ? domain::to_string(*u.listener) : "", u.replacement, last_alert});
    }
  }
  std::stable_sort(t.rows.begin(), t.rows.end(), [](const auto& a, const auto& b) { return a[4] < b[4]; });
  return t;
}

ReportTable history(const domain::DomainState& s, const ReportOptions& o) {
  static const char* kCause[] = {"scheduled time", "first usage", "listener install"};
  ReportTable t{{"activated_at", "partner", "role", "alias", "fingerprint", "previous_alias", "cause", "schedule",
                 "proposal", "proposed_by", "confirmed_by"},
                {}};
  const int64_t to = o.to_ns ? o.to_ns : o.now_ns;
  for (const auto& id : s.schedule_ids()) {
    const auto* sc = s.schedule(id);
    if (sc->state() != statemachines::ScheduleState::kActivated) continue;
    if (sc->activated_at_ns < o.from_ns || sc->activated_at_ns > to) continue;
    std::string previous;
    for (const auto& h : s.partner_of(*sc).history) {
      if (h.replaced_by_schedule == id) previous = h.cert.alias;
    }
    t.rows.push_back({format_instant(sc->activated_at_ns), sc->proposed.partner, domain::to_string(sc->role()),
                      sc->proposed.alias, sc->proposed.fingerprint, previous,
                      kCause[static_cast<int>(sc->activation_cause.value_or(domain::ActivationCause::kScheduledTime))], id,
                      sc->proposed.proposal_id, sc->proposed_by, sc->confirmed_by});
  }
  std::stable_sort(t.rows.begin(), t.rows.end(), [](const auto& a, const auto& b) { return a[0] < b[0]; });
  return t;
}

ReportTable blockers(const domain::DomainState& s, const ReportOptions& o) {
  ReportTable t{{"kind", "subject", "alias", "due_at", "partner", "schedule", "reason"}, {}};
  for (uint8_t li = 0; li < domain::kListenerCount; ++li) {
    const auto lid = static_cast<domain::Listener>(li);
    const auto* l = s.listener(lid);
    if (!l || !l->pending) continue;
    const domain::ListenerReadiness ready = domain::listener_readiness(s, lid, o.now_ns);
    for (const auto& b : ready.blockers) {
      t.rows.push_back({"listener", domain::to_string(lid), l->pending->alias, "", b.partner, b.schedule_id, b.reason});
    }
  }
  for (const auto& id : s.schedule_ids()) {
    const auto* sc = s.schedule(id);
    const auto state = sc->state();
    if (!statemachines::is_open(state) || sc->proposed.activate_at_ns > o.now_ns) continue;
    std::string reason;
    if (state == statemachines::ScheduleState::kProposed) reason = "awaits confirmation";
    else if (state == statemachines::ScheduleState::kConfirmed && sc->proposed.email_partner)
      reason = "waits for its partner mail" + (sc->last_mail_error.empty() ? "" : " (" + sc->last_mail_error + ")");
    else if (sc->role() == Role::kLocalSslServer) reason = "waits for its listener's install";
    else reason = "due; activates on the scheduler's next run";
    t.rows.push_back({"overdue", "schedule " + id, sc->proposed.alias, format_instant(sc->proposed.activate_at_ns),
                      sc->proposed.partner, id, reason});
  }
  return t;
}

}  // namespace

Result<ReportTable> build_report(const std::string& name, const domain::DomainState& state,
                                 const ReportOptions& options) {
  if (name == "inventory") return inventory(state);
  if (name == "expiring") return expiring(state, options);
  if (name == "history") return history(state, options);
  if (name == "blockers") return blockers(state, options);
  return Status::InvalidArgument("no report '" + name + "': choose inventory, expiring, history or blockers");
}

std::string format_csv(const ReportTable& t) {
  auto cell = [](const std::string& v) {
    // Quote what CSV needs quoted, and defuse spreadsheet formulas in partner-supplied text.
    std::string s = (!v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@')) ? "'" + v : v;
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  std::string out;
  for (size_t i = 0; i < t.columns.size(); ++i) out += (i ? "," : "") + cell(t.columns[i]);
  out += "\n";
  for (const auto& row : t.rows) {
    for (size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + cell(row[i]);
    out += "\n";
  }
  return out;
}

std::string format_table(const ReportTable& t) {
  std::vector<size_t> width(t.columns.size());
  for (size_t i = 0; i < t.columns.size(); ++i) width[i] = t.columns[i].size();
  for (const auto& row : t.rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], std::min<size_t>(row[i].size(), 40));
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size(); ++i) {
      std::string c = cells[i].size() > 40 ? cells[i].substr(0, 37) + "..." : cells[i];
      out += c + std::string(width[i] - c.size() + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::vector<std::string> header;
  for (const auto& c : t.columns) {
    std::string u = c;
    std::transform(u.begin(), u.end(), u.begin(), ::toupper);
    header.push_back(u);
  }
  std::string out = line(header);
  for (const auto& row : t.rows) out += line(row);
  if (t.rows.empty()) out += "(no rows)\n";
  return out;
}

std::string format_json(const ReportTable& t) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : t.rows) {
    nlohmann::json r = nlohmann::json::object();
    for (size_t i = 0; i < t.columns.size(); ++i) r[t.columns[i]] = row[i];
    rows.push_back(r);
  }
  return json_text(rows, 2) + "\n";
}

}  // namespace certsched::replay
