#include "adapters/metrics.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <map>

#include "domain/expiry_alerts.h"
#include "domain/listener_readiness.h"

namespace certsched::adapters {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

double seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

MetricFamily family(const char* name, const char* help, MetricType type) { return {name, help, type, {}}; }

void add(MetricFamily& f, std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter) m.counter.value = value;
  else m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

MetricFamily certificate_expiry(const domain::DomainState& s) {
  MetricFamily f = family("certsched_certificate_expiration_timestamp_seconds",
                          "The time a certificate in use (current for a partner and role, or on a listener) expires.",
                          MetricType::Gauge);
  for (const auto& [id, p] : s.partners()) {
    for (size_t r = 0; r < domain::kRoleCount; ++r) {
      if (const auto& c = p.current[r]) {
        add(f, {{"partner", id}, {"role", domain::to_string(static_cast<domain::Role>(r))}, {"alias", c->alias}},
            seconds(c->not_after_ns));
      }
    }
  }
  for (uint8_t li = 0; li < domain::kListenerCount; ++li) {
    const auto* l = s.listener(static_cast<domain::Listener>(li));
    if (l && l->current) {
      add(f, {{"listener", domain::to_string(l->listener)}, {"role", "local-ssl-server"}, {"alias", l->current->alias}},
          seconds(l->current->not_after_ns));
    }
  }
  return f;
}

// What the expiry alerts have said of each certificate still in use: the smallest threshold
// alerted, in days (0: alerted as expired). Absent: no alert yet.
MetricFamily expiry_alerts(const domain::DomainState& s) {
  MetricFamily f = family("certsched_certificate_expiry_alert_threshold_seconds",
                          "The smallest expiry threshold alerted for a certificate in use (30 days: 2592000); 0 once "
                          "alerted as expired.",
                          MetricType::Gauge);
  for (const domain::CertificateInUse& c : domain::certificates_in_use(s)) {
    const domain::ExpiryAlertRecord* a = s.expiry_alerts(c.cert.fingerprint);
    if (!a) continue;
    add(f, {{"alias", c.cert.alias}, {"fingerprint", c.cert.fingerprint}},
        a->expired_day ? 0 : seconds(static_cast<int64_t>(a->smallest_threshold) * domain::kDayNs));
  }
  return f;
}

MetricFamily expiry_alerts_raised(const domain::DomainState& s) {
  MetricFamily f = family("certsched_expiry_alerts_total", "Expiry alerts raised (each mails the admin once).",
                          MetricType::Counter);
  uint64_t n = 0;
  for (const auto& [fp, a] : s.expiry_alert_records()) n += a.count;
  add(f, {}, static_cast<double>(n));
  return f;
}

}  // namespace

std::string metrics_text(const domain::DomainState& s, size_t mail_queued, const eventstore::StoreStats& stats,
                         int64_t now_ns) {
  std::vector<MetricFamily> families;
  families.push_back(certificate_expiry(s));
  families.push_back(expiry_alerts(s));
  families.push_back(expiry_alerts_raised(s));

  std::map<std::string, size_t> by_state;
  for (auto st : {"proposed", "confirmed", "emailed", "pending", "activated", "withdrawn", "cancelled"}) by_state[st] = 0;
  size_t overdue = 0, partner_mail_sent = 0, partner_mail_failed = 0;
  int64_t last_activation = 0;
  for (const auto& id : s.schedule_ids()) {
    const domain::ScheduleRecord* sc = s.schedule(id);
    ++by_state[statemachines::to_string(sc->state())];
    if (statemachines::is_open(sc->state()) && sc->proposed.activate_at_ns <= now_ns) ++overdue;
    if (!sc->mail_message_id.empty()) ++partner_mail_sent;
    partner_mail_failed += sc->mail_attempts;
    last_activation = std::max(last_activation, sc->activated_at_ns);
  }
  MetricFamily schedules = family("certsched_schedules", "Schedules by state.", MetricType::Gauge);
  for (const auto& [st, n] : by_state) add(schedules, {{"state", st}}, static_cast<double>(n));
  families.push_back(std::move(schedules));
  MetricFamily late = family("certsched_schedules_overdue",
                             "Open schedules whose activation time has passed (waiting for confirmation, mail or "
                             "their listener).",
                             MetricType::Gauge);
  add(late, {}, static_cast<double>(overdue));
  families.push_back(std::move(late));

  MetricFamily blocked = family("certsched_listener_blocked",
                                "1 while partners block the install of a listener's pending certificate.", MetricType::Gauge);
  MetricFamily blocked_for = family("certsched_listener_blocked_seconds",
                                    "How long a blocked listener's install has been due: since the earliest activation "
                                    "time of its pending certificate (0 while none has passed).",
                                    MetricType::Gauge);
  for (uint8_t li = 0; li < domain::kListenerCount; ++li) {
    const auto lid = static_cast<domain::Listener>(li);
    const auto* l = s.listener(lid);
    if (!l) continue;
    const domain::ListenerReadiness ready = domain::listener_readiness(s, lid, now_ns);
    const bool is_blocked = !ready.blockers.empty();
    int64_t due_since = 0;
    for (const auto& id : s.schedule_ids()) {
      const domain::ScheduleRecord* sc = s.schedule(id);
      if (l->pending && statemachines::is_open(sc->state()) && sc->role() == domain::Role::kLocalSslServer &&
          sc->proposed.fingerprint == l->pending->fingerprint && sc->proposed.activate_at_ns <= now_ns &&
          (due_since == 0 || sc->proposed.activate_at_ns < due_since)) {
        due_since = sc->proposed.activate_at_ns;
      }
    }
    add(blocked, {{"listener", domain::to_string(lid)}}, is_blocked ? 1 : 0);
    add(blocked_for, {{"listener", domain::to_string(lid)}}, is_blocked && due_since ? seconds(now_ns - due_since) : 0);
  }
  families.push_back(std::move(blocked));
  families.push_back(std::move(blocked_for));

  size_t admin_sent = 0, admin_failed = 0;
  for (const auto& [id, d] : s.deliveries()) {
    admin_sent += d.delivered ? 1 : 0;
    admin_failed += d.attempts;
  }
  MetricFamily sent = family("certsched_mail_sent_total", "Mail the SMTP server accepted.", MetricType::Counter);
  add(sent, {{"to", "partner"}}, static_cast<double>(partner_mail_sent));
  add(sent, {{"to", "admin"}}, static_cast<double>(admin_sent));
  families.push_back(std::move(sent));
  MetricFamily failed = family("certsched_mail_failed_total", "Mail attempts that failed (each is retried).",
                               MetricType::Counter);
  add(failed, {{"to", "partner"}}, static_cast<double>(partner_mail_failed));
  add(failed, {{"to", "admin"}}, static_cast<double>(admin_failed));
  families.push_back(std::move(failed));
  MetricFamily queued = family("certsched_mail_queued", "Notifications still owed.", MetricType::Gauge);
  add(queued, {}, static_cast<double>(mail_queued));
  families.push_back(std::move(queued));

  MetricFamily last = family("certsched_last_activation_timestamp_seconds",
                             "When the last certificate activation was recorded (0: none yet).", MetricType::Gauge);
  add(last, {}, seconds(last_activation));
  families.push_back(std::move(last));

  MetricFamily latency = family("certsched_append_duration_seconds",
                                "Appends to the log that wrote events, from call to durable acknowledgment.",
                                MetricType::Summary);
  ClientMetric appends;
  appends.summary.sample_count = stats.appends_committed;
  appends.summary.sample_sum = seconds(static_cast<int64_t>(stats.append_nanoseconds));
  latency.metric.push_back(std::move(appends));
  families.push_back(std::move(latency));
  MetricFamily position = family("certsched_log_position", "The position of the last event in the log.", MetricType::Gauge);
  add(position, {}, static_cast<double>(s.position()));
  families.push_back(std::move(position));

  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace certsched::adapters
