// Which certificates are in use, by whom, and which expiry alerts are due: pure functions
// of the domain state, shared by the scheduler (which raises the alerts), `report
// expiring` and /metrics, so that the three agree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/events.h"
#include "domain/state.h"

namespace certsched::domain {

inline constexpr int64_t kDayNs = 86400LL * 1'000'000'000;

struct CertificateUse {
  std::string partner;              // empty: a listener's
  Role role = Role::kLocalSslServer;
  std::optional<Listener> listener;
  std::string replacement;          // what is scheduled to replace it there; "" if nothing
  bool covered = false;             // a confirmed replacement takes over before it expires
  std::string describe() const;     // "partner acme local-signing", "listener HTTP"
};

struct CertificateInUse {
  CertRef cert;
  std::vector<CertificateUse> uses;
  // Every use has a confirmed replacement in time: no alert is owed.
  bool covered() const;
};

// Each certificate current for a present partner and role, or installed on a listener,
// with its uses; in fingerprint order.
std::vector<CertificateInUse> certificates_in_use(const DomainState& s);

// The alerts owed at `now_ns` that were not raised yet: for a certificate not covered,
// the smallest threshold it has crossed if no smaller one was alerted; once it has
// expired, one a day. None when the options have no thresholds. By alias.
std::vector<ExpiryAlertRaised> due_expiry_alerts(const DomainState& s, int64_t now_ns);

// The next instant after `now_ns` at which an alert could fall due (0: none), as things are.
int64_t next_expiry_alert_ns(const DomainState& s, int64_t now_ns);

// How reports and metrics name an alert's threshold: "30d", or "expired".
std::string threshold_name(uint32_t threshold_days);
// The admin notification an alert owes: "expiry/ALIAS/30d", or "expired/ALIAS/YYYY-MM-DD".
std::string expiry_notification_id(const ExpiryAlertRaised& a);

}  // namespace certsched::domain
