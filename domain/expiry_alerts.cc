#include "domain/expiry_alerts.h"

#include <algorithm>
#include <map>

#include "domain/instant.h"

namespace certsched::domain {
namespace {

using statemachines::ScheduleState;

// Floor division: days since the epoch of an instant, also before 1970.
int64_t day_of(int64_t ns) { return ns >= 0 ? ns / kDayNs : -((-ns + kDayNs - 1) / kDayNs); }

bool confirmed(const ScheduleRecord& s) { return statemachines::is_open(s.state()) && s.state() != ScheduleState::kProposed; }

std::string schedule_text(const ScheduleRecord& s) {
  return s.proposed.schedule_id + ": " + s.proposed.alias + ", " + statemachines::to_string(s.state()) +
         (s.state() == ScheduleState::kProposed ? " (not confirmed)" : "") + ", activates " +
         format_instant(s.proposed.activate_at_ns);
}

CertificateUse partner_use(const DomainState& s, const PartnerRecord& p, Role role, int64_t not_after_ns) {
  CertificateUse u;
  u.partner = p.id;
  u.role = role;
  if (const ScheduleRecord* next = s.open_schedule(p, role)) {
    u.replacement = schedule_text(*next);
    u.covered = confirmed(*next) && next->proposed.activate_at_ns < not_after_ns;
  }
  return u;
}

// A listener's certificate is replaced when its pending one installs: once every schedule
// for it is confirmed and due, so at the latest of their times.
CertificateUse listener_use(const DomainState& s, const ListenerRecord& l, int64_t not_after_ns) {
  CertificateUse u;
  u.listener = l.listener;
  if (!l.pending) return u;
  int64_t installs_at = 0;
  bool all_confirmed = true, any = false;
  for (const auto& id : s.schedule_ids()) {
    const ScheduleRecord* r = s.schedule(id);
    if (!statemachines::is_open(r->state()) || r->role() != Role::kLocalSslServer ||
        r->proposed.fingerprint != l.pending->fingerprint) {
      continue;
    }
    any = true;
    all_confirmed &= confirmed(*r);
    installs_at = std::max(installs_at, r->proposed.activate_at_ns);
  }
  u.replacement = l.pending->alias + " pending (proposal " + l.pending_proposal + ")";
  u.covered = any && all_confirmed && installs_at < not_after_ns;
  return u;
}

}  // namespace

std::string CertificateUse::describe() const {
  if (listener) return std::string("listener ") + to_string(*listener);
  return "partner " + partner + " " + to_string(role);
}

bool CertificateInUse::covered() const {
  return std::all_of(uses.begin(), uses.end(), [](const CertificateUse& u) { return u.covered; });
}

std::vector<CertificateInUse> certificates_in_use(const DomainState& s) {
  std::map<std::string, CertificateInUse> by_fingerprint;
  auto entry = [&](const CertRef& c) -> CertificateInUse& {
    CertificateInUse& e = by_fingerprint[c.fingerprint];
    e.cert = c;
    return e;
  };
  for (const auto& [id, p] : s.partners()) {
    for (uint8_t r = 0; r < kRoleCount; ++r) {
      if (const auto& c = p.current[r]) entry(*c).uses.push_back(partner_use(s, p, static_cast<Role>(r), c->not_after_ns));
    }
  }
  for (uint8_t li = 0; li < kListenerCount; ++li) {
    const ListenerRecord* l = s.listener(static_cast<Listener>(li));
    if (l && l->current) entry(*l->current).uses.push_back(listener_use(s, *l, l->current->not_after_ns));
  }
  std::vector<CertificateInUse> out;
  for (auto& [fp, e] : by_fingerprint) out.push_back(std::move(e));
  return out;
}

std::vector<ExpiryAlertRaised> due_expiry_alerts(const DomainState& s, int64_t now_ns) {
  std::vector<ExpiryAlertRaised> due;
  const std::vector<uint32_t>& thresholds = s.expiry_alert_days();  // descending
  if (thresholds.empty()) return due;
  for (const CertificateInUse& c : certificates_in_use(s)) {
    if (c.covered()) continue;
    const ExpiryAlertRecord* before = s.expiry_alerts(c.cert.fingerprint);
    const int64_t left = c.cert.not_after_ns - now_ns;
    uint32_t threshold = 0;
    if (left <= 0) {
      if (before && before->expired_day >= day_of(now_ns)) continue;
    } else {
      for (uint32_t t : thresholds) {
        if (left <= static_cast<int64_t>(t) * kDayNs) threshold = t;  // the smallest crossed
      }
      if (threshold == 0 || (before && before->smallest_threshold != 0 && before->smallest_threshold <= threshold)) continue;
    }
    ExpiryAlertRaised a;
    a.alias = c.cert.alias;
    a.fingerprint = c.cert.fingerprint;
    a.not_after_ns = c.cert.not_after_ns;
    a.threshold_days = threshold;
    a.day = day_of(now_ns);
    for (const CertificateUse& u : c.uses) {
      a.uses.push_back(u.describe());
      a.replacements.push_back(u.replacement);
    }
    due.push_back(std::move(a));
  }
  // By alias: the order the mails go out in, as an operator would list them.
  std::sort(due.begin(), due.end(), [](const auto& x, const auto& y) { return x.alias < y.alias; });
  return due;
}

int64_t next_expiry_alert_ns(const DomainState& s, int64_t now_ns) {
  const std::vector<uint32_t>& thresholds = s.expiry_alert_days();
  if (thresholds.empty()) return 0;
  int64_t next = 0;
  auto consider = [&](int64_t at) {
    if (at > now_ns && (next == 0 || at < next)) next = at;
  };
  for (const CertificateInUse& c : certificates_in_use(s)) {
    if (c.covered()) continue;
    const ExpiryAlertRecord* before = s.expiry_alerts(c.cert.fingerprint);
    const uint32_t smallest = before ? before->smallest_threshold : 0;
    for (uint32_t t : thresholds) {
      if (smallest == 0 || t < smallest) consider(c.cert.not_after_ns - static_cast<int64_t>(t) * kDayNs);
    }
    consider(c.cert.not_after_ns);                  // it expires
    if (c.cert.not_after_ns <= now_ns) consider((day_of(now_ns) + 1) * kDayNs);  // the next day
  }
  return next;
}

std::string expiry_notification_id(const ExpiryAlertRaised& a) {
  if (a.threshold_days != 0) return "expiry/" + a.alias + "/" + threshold_name(a.threshold_days);
  return "expired/" + a.alias + "/" + format_instant(a.day * kDayNs).substr(0, 10);
}

std::string threshold_name(uint32_t threshold_days) {
  return threshold_days == 0 ? "expired" : std::to_string(threshold_days) + "d";
}

}  // namespace certsched::domain
