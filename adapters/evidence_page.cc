#include "adapters/evidence_page.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>

#include "domain/instant.h"
#include "replay/reports.h"

namespace certsched::adapters {
namespace {

std::string escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string day(int64_t ns) { return domain::format_instant(ns).substr(0, 10); }

// A report as an HTML table; a long one stays one table (it prints across pages).
std::string table(const replay::ReportTable& t, const std::string& empty) {
  if (t.rows.empty()) return "<p class=\"none\">" + escaped(empty) + "</p>\n";
  std::string html = "<table><thead><tr>";
  for (const auto& c : t.columns) html += "<th>" + escaped(c) + "</th>";
  html += "</tr></thead><tbody>\n";
  for (const auto& row : t.rows) {
    html += "<tr>";
    for (const auto& cell : row) html += "<td>" + escaped(cell) + "</td>";
    html += "</tr>\n";
  }
  return html + "</tbody></table>\n";
}

const domain::CertificateRecord* certificate(const domain::DomainState& s, const std::string& alias) {
  const domain::CertificateRecord* c = s.certificate(alias);
  return c ? c : s.removed_certificate(alias);
}

struct Bar {
  std::string alias;
  int64_t valid_from = 0, valid_to = 0;  // the certificate's validity
  int64_t used_from = 0, used_to = 0;    // current for the role (used_to 0: still)
  bool pending = false;
};

struct Mark {
  std::string alias;  // the certificate it made current
  int64_t at = 0;
  std::string label;
  bool first_usage = false;
  bool install = false;  // a listener install, not a schedule's activation
};

// One partner's timeline: a row per role, the certificates' validity as light bars, the
// time each was current as a dark bar, each activation as a mark (its title says who
// proposed and confirmed it, through which interface, and why it activated).
std::string timeline(const domain::DomainState& s, const domain::PartnerRecord& p, int64_t now_ns,
                     const std::vector<InstallRecord>& installs) {
  std::map<domain::Role, std::vector<Bar>> bars;
  std::map<domain::Role, std::vector<Mark>> marks;
  auto add_bar = [&](domain::Role role, const std::string& alias, int64_t from, int64_t to, bool pending) {
    const domain::CertificateRecord* c = certificate(s, alias);
    bars[role].push_back({alias, c ? c->cert.not_before_ns : from, c ? c->cert.not_after_ns : to, from, to, pending});
  };
  for (const auto& h : p.history) add_bar(h.role, h.cert.alias, h.from_ns, h.until_ns, false);
  for (uint8_t r = 0; r < domain::kRoleCount; ++r) {
    const auto role = static_cast<domain::Role>(r);
    if (p.current[r]) add_bar(role, p.current[r]->alias, p.current_since_ns[r], 0, false);
    if (const domain::ScheduleRecord* open = s.open_schedule(p, role)) {
      add_bar(role, open->proposed.alias, open->proposed.activate_at_ns, 0, true);
    }
  }
  for (const auto& id : s.schedule_ids()) {
    const domain::ScheduleRecord* sc = s.schedule(id);
    if (sc->state() != statemachines::ScheduleState::kActivated || &s.partner_of(*sc) != &p) continue;
    const bool first = sc->activation_cause == domain::ActivationCause::kFirstUsage;
    marks[sc->role()].push_back({sc->proposed.alias, sc->activated_at_ns,
                                 id + ": " + sc->proposed.alias + " activated " + domain::format_instant(sc->activated_at_ns) +
                                     (first ? " on first usage" : "") + "; proposed by " + sc->proposed_by +
                                     ", confirmed by " + sc->confirmed_by,
                                 first});
  }
  // Server certificates take effect when their listener installs them: marked too.
  for (const InstallRecord& i : installs) {
    if (i.listener != domain::listener_for(p.protocol) || !bars.count(domain::Role::kLocalSslServer)) continue;
    marks[domain::Role::kLocalSslServer].push_back(
        {i.alias, i.at_ns,
         i.alias + " installed on listener " + domain::to_string(i.listener) + " " + domain::format_instant(i.at_ns) +
             (i.previous_alias.empty() ? "" : ", replacing " + i.previous_alias) + " (" + i.actor + ")",
         false, true});
  }
  if (bars.empty()) return "<p class=\"none\">No certificates.</p>\n";
  int64_t lo = now_ns, hi = now_ns;
  for (const auto& [role, list] : bars) {
    for (const Bar& b : list) {
      lo = std::min({lo, b.valid_from, b.used_from});
      hi = std::max({hi, b.valid_to});
    }
  }
  if (hi <= lo) hi = lo + 1;
  const int kLabel = 150, kWidth = 900, kRow = 24;
  auto x = [&](int64_t t) { return kLabel + static_cast<double>(t - lo) / static_cast<double>(hi - lo) * (kWidth - kLabel - 10); };
  size_t rows = 0;
  for (const auto& [role, list] : bars) rows += list.size();
  std::ostringstream svg;
  const int height = static_cast<int>(rows) * kRow + 30;
  svg << "<svg class=\"timeline\" viewBox=\"0 0 " << kWidth << " " << height << "\" role=\"img\" aria-label=\"certificates of "
      << escaped(p.id) << "\">\n";
  // A row per certificate a role had, so that none hides another; the role named once.
  int row = 0;
  for (const auto& [role, list] : bars) {
    bool first_row = true;
    for (const Bar& b : list) {
      const int y = row++ * kRow + 10;
      if (first_row) svg << "<text x=\"0\" y=\"" << y + 14 << "\" class=\"role\">" << domain::to_string(role) << "</text>\n";
      first_row = false;
      const int64_t used_to = b.used_to ? b.used_to : std::min(now_ns, b.valid_to);
      svg << "<rect class=\"valid\" x=\"" << x(b.valid_from) << "\" y=\"" << y << "\" width=\""
          << std::max(1.0, x(b.valid_to) - x(b.valid_from)) << "\" height=\"18\"><title>" << escaped(b.alias) << " valid "
          << day(b.valid_from) << " to " << day(b.valid_to) << "</title></rect>\n";
      if (!b.pending) {
        svg << "<rect class=\"used\" x=\"" << x(b.used_from) << "\" y=\"" << y + 4 << "\" width=\""
            << std::max(2.0, x(used_to) - x(b.used_from)) << "\" height=\"10\"><title>" << escaped(b.alias) << " current "
            << day(b.used_from) << " to " << (b.used_to ? day(b.used_to) : std::string("now")) << "</title></rect>\n";
      }
      svg << "<text x=\"" << x(b.valid_from) + 3 << "\" y=\"" << y + 13 << "\" class=\"alias\">" << escaped(b.alias)
          << (b.pending ? " (scheduled)" : "") << "</text>\n";
      for (const Mark& m : marks[role]) {
        if (m.alias != b.alias) continue;
        const char* kind = m.install ? "mark install" : m.first_usage ? "mark first" : "mark";
        svg << "<path class=\"" << kind << "\" d=\"M" << x(m.at) << " " << (m.install ? y + 18 : y)
            << (m.install ? " l-5 7 h10 z" : " l-5 -7 h10 z") << "\"><title>" << escaped(m.label) << "</title></path>\n";
      }
    }
  }
  svg << "<line class=\"now\" x1=\"" << x(now_ns) << "\" y1=\"0\" x2=\"" << x(now_ns) << "\" y2=\"" << height - 20 << "\"/>\n";
  svg << "<text x=\"" << kLabel << "\" y=\"" << height - 4 << "\" class=\"axis\">" << day(lo) << "</text>";
  svg << "<text x=\"" << kWidth - 10 << "\" y=\"" << height - 4 << "\" class=\"axis end\">" << day(hi) << "</text>\n";
  svg << "</svg>\n";
  // The activations, also as text: readable without hovering, and in print.
  std::string list;
  for (const auto& [role, ms] : marks) {
    for (const Mark& m : ms) list += "<li>" + escaped(std::string(domain::to_string(role)) + " " + m.label) + "</li>";
  }
  return svg.str() + (list.empty() ? "" : "<ul class=\"activations\">" + list + "</ul>\n");
}

constexpr const char* kStyle = R"(
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; } h3 { margin-bottom: .3em; }
table { border-collapse: collapse; width: 100%; font-size: 12px; } th, td { border: 1px solid #ddd; padding: 2px 4px; text-align: left; }
th { background: #f3f3f3; } td { word-break: break-all; }
.verified { color: #14632a; font-weight: bold; } .none { color: #777; }
code { font-size: 12px; word-break: break-all; }
nav ol { columns: 4; font-size: 12px; } nav li { break-inside: avoid; }
svg.timeline { width: 100%; height: auto; max-width: 900px; display: block; }
svg .valid { fill: #d6e4f5; } svg .used { fill: #2b5fa3; } svg .mark { fill: #c0392b; } svg .mark.first { fill: #e67e22; }
svg .mark.install { fill: #16a085; }
nav h3 { margin: .6em 0 .1em; font-size: 1em; }
svg .now { stroke: #999; stroke-dasharray: 3 3; } svg text { font-size: 11px; } svg .role { font-weight: bold; }
svg .axis { fill: #777; } svg .axis.end { text-anchor: end; }
.activations { font-size: 12px; margin-top: .2em; }
section.partner { break-inside: avoid; }
@media print { body { margin: 0; max-width: none; } nav ol { columns: 3; } h2 { break-before: page; } a { color: inherit; text-decoration: none; } }
)";

}  // namespace

std::string evidence_page(const domain::DomainState& state, const PagePeriod& period, const nlohmann::json& checkpoint,
                          const std::string& key_id, const std::vector<InstallRecord>& installs) {
  replay::ReportOptions o;
  o.now_ns = period.now_ns;
  o.from_ns = period.from_ns;
  o.to_ns = period.to_ns;
  const auto inventory = replay::build_report("inventory", state, o).value();
  const auto history = replay::build_report("history", state, o).value();
  const auto blockers = replay::build_report("blockers", state, o).value();
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>certsched evidence pack, position "
    << checkpoint["position"].get<uint64_t>() << "</title><style>" << kStyle << "</style></head><body>\n";
  h << "<h1>certsched evidence pack</h1>\n<p>Period " << escaped(period.from_ns ? domain::format_instant(period.from_ns) : "from the first event")
    << " to " << escaped(domain::format_instant(period.to_ns)) << "; exported " << escaped(checkpoint.value("exported_at", ""))
    << ".</p>\n";
  h << "<h2 id=\"verification\">Verification</h2>\n<p class=\"verified\">At export, every record from position 1 to "
    << checkpoint["position"].get<uint64_t>() << " verified: frames, checksums, positions, stream versions and the SHA-256 hash chain.</p>\n"
    << "<table><tbody><tr><th>position</th><td>" << checkpoint["position"].get<uint64_t>() << "</td></tr><tr><th>head hash</th><td><code>"
    << escaped(checkpoint.value("head_hash", "")) << "</code></td></tr><tr><th>store id</th><td><code>"
    << escaped(checkpoint.value("store_id", "")) << "</code></td></tr><tr><th>evidence key id (SHA-256 of its DER)</th><td><code>"
    << escaped(key_id) << "</code></td></tr></tbody></table>\n"
    << "<p>Re-check this pack without certsched: <code>checkpoint.sig</code> is the Ed25519 signature of "
       "<code>checkpoint.json</code> by <code>evidence-key.pem</code> (compare its key id with the one the store shows in "
       "<code>certsched options show</code>); <code>events.jsonl</code> holds every record with the exact bytes the chain "
       "covers. The format is in docs/evidence-format.md; <code>certsched evidence verify</code> checks it too.</p>\n";

  // The contents, grouped by the ids' first character: a thousand partners stay findable.
  h << "<nav><h2 id=\"contents\">Partners</h2>\n";
  char group = 0;
  for (const auto& [id, p] : state.partners()) {
    const char first = static_cast<char>(std::toupper(static_cast<unsigned char>(id[0])));
    if (first != group) {
      h << (group ? "</ol>\n" : "") << "<h3>" << escaped(std::string(1, first)) << "</h3><ol>";
      group = first;
    }
    h << "<li><a href=\"#p-" << escaped(id) << "\">" << escaped(id) << "</a></li>";
  }
  h << (group ? "</ol>" : "<p class=\"none\">No partners.</p>") << "</nav>\n";
  h << "<h2 id=\"timelines\">Certificates per partner</h2>\n<p>Light bars: a certificate's validity. Dark bars: when it was "
       "current for the role. Red marks: activations (orange: on first usage); green marks below a server certificate: its "
       "listener installed it. Each is also listed below its timeline.</p>\n";
  for (const auto& [id, p] : state.partners()) {
    h << "<section class=\"partner\" id=\"p-" << escaped(id) << "\"><h3>" << escaped(id) << "</h3><p>" << domain::to_string(p.protocol)
      << (p.cem ? ", CEM" : "") << ", listener " << domain::to_string(domain::listener_for(p.protocol)) << ", "
      << escaped(p.email) << "</p>\n"
      << timeline(state, p, period.now_ns, installs) << "</section>\n";
  }
  h << "<h2 id=\"listeners\">Listeners</h2>\n";
  bool any_listener = false;
  for (uint8_t li = 0; li < domain::kListenerCount; ++li) {
    const domain::ListenerRecord* l = state.listener(static_cast<domain::Listener>(li));
    if (!l) continue;
    any_listener = true;
    replay::ReportTable t{{"installed_at", "certificate", "replaced", "by", "position"}, {}};
    for (const InstallRecord& i : installs) {
      if (i.listener == l->listener) {
        t.rows.push_back({domain::format_instant(i.at_ns), i.alias, i.previous_alias, i.actor, std::to_string(i.position)});
      }
    }
    h << "<h3>" << domain::to_string(l->listener) << "</h3><p>Serves " << escaped(l->current ? l->current->alias : "nothing")
      << (l->pending ? "; " + escaped(l->pending->alias) + " pending (proposal " + escaped(l->pending_proposal) + ")" : "")
      << ".</p>\n" << table(t, "No install of a new certificate yet (only the one it was configured with).");
  }
  if (!any_listener) h << "<p class=\"none\">No listener is configured.</p>\n";
  h << "<h2 id=\"inventory\">Inventory at the checkpoint</h2>\n" << table(inventory, "No partners.");
  h << "<h2 id=\"history\">Activations in the period</h2>\n" << table(history, "No activation in the period.");
  h << "<h2 id=\"blockers\">Blockers at the checkpoint</h2>\n" << table(blockers, "Nothing blocked or overdue.");
  h << "</body></html>\n";
  return h.str();
}

}  // namespace certsched::adapters
