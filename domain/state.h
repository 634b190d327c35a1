// The domain's current state, rebuilt by applying events in log order. Schedule and
// listener events go through their state machines: an event the machine refuses is
// corruption naming its stream and version, never silently applied.
#pragma once

#include <array>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "domain/events.h"
#include "domain/streams.h"
#include "eventstore/event_store.h"
#include "statemachines/listener_machine.h"
#include "statemachines/schedule_machine.h"

namespace certsched::domain {

// Expiry alerts before a certificate in use expires, in days, unless the options say otherwise.
inline const std::vector<uint32_t> kDefaultExpiryAlertDays = {30, 14, 7};

struct CertRef {
  std::string alias;
  std::string fingerprint;
  int64_t not_after_ns = 0;
};

struct CertificateRecord {
  CertificateImported cert;
  int64_t imported_at_ns = 0;
  std::string imported_by;
  int64_t removed_at_ns = 0;  // 0: not removed
  std::string removed_by;
  std::string removal_reason;
};

struct HistoryEntry {
  Role role;
  CertRef cert;
  int64_t from_ns = 0;  // 0: current since the partner was added
  int64_t until_ns = 0;
  std::string replaced_by_schedule;
};

struct PartnerRecord {
  std::string id;
  Protocol protocol = Protocol::kAS2;
  std::string email;
  bool cem = false;
  std::array<std::optional<CertRef>, kRoleCount> current;
  std::array<int64_t, kRoleCount> current_since_ns{};
  std::vector<HistoryEntry> history;  // certificates that are no longer current
  uint64_t version = 0;
  std::array<size_t, kRoleCount> open_schedule{};  // its number (see schedule_number), 0: none
  uint32_t generation = 1;  // 2 and up: the id of a removed partner, added again
  int64_t removed_at_ns = 0;  // 0: not removed
  std::string removed_by;
  std::string removal_reason;
};

struct ScheduleRecord {
  ScheduleProposed proposed;
  statemachines::ScheduleMachine machine;
  uint64_t version = 0;
  int64_t proposed_at_ns = 0;
  std::string proposed_by;
  std::string confirmed_by;  // the decision that made it take effect
  int64_t confirmed_at_ns = 0;
  int64_t updated_at_ns = 0;
  int64_t activated_at_ns = 0;
  std::optional<ActivationCause> activation_cause;
  uint32_t mail_attempts = 0;
  std::string last_mail_error;
  int64_t last_mail_attempt_ns = 0;
  std::string mail_message_id;
  std::string reason;  // cancel or skip-email reason
  Role role() const { return static_cast<Role>(proposed.role); }
  statemachines::ScheduleState state() const { return machine.state(); }
};

struct ListenerRecord {
  Listener listener = Listener::kHTTP;
  statemachines::ListenerMachine machine;
  uint64_t version = 0;
  std::optional<CertRef> current;
  std::string dir;
  std::string reload_command;
  std::optional<CertRef> pending;
  std::string pending_proposal;
  uint32_t install_failures = 0;
  std::string last_error;
  int64_t last_failure_ns = 0;
};

// The expiry alerts raised for one certificate (by fingerprint).
struct ExpiryAlertRecord {
  uint32_t smallest_threshold = 0;  // days; 0: none raised before expiry
  int64_t expired_day = 0;          // the last day an expired alert was raised (0: none)
  uint32_t count = 0;
  int64_t last_alert_ns = 0;
};

struct DeliveryRecord {
  bool delivered = false;
  std::string message_id;
  uint32_t attempts = 0;
  int64_t last_attempt_ns = 0;
  std::string last_error;
};

// The number of schedule id "S<n>" (schedules are numbered S1, S2, ... as proposed), or 0
// when `id` is not spelled so ("S07", "S7x", "7").
size_t schedule_number(std::string_view id);

class DomainState {
 public:
  DomainState() = default;
  DomainState(const DomainState&) = delete;  // schedule_partner_ points into partners_
  // Applies the next record of the log. REQUIRES: record.position == position() + 1.
  Status apply(const eventstore::RecordedEvent& record);
  Status apply(const eventstore::RecordedEvent& record, const Event& event);

  uint64_t position() const { return position_; }
  bool initialized() const { return system_.has_value(); }
  // The system options: those of init, as changed since by `options set`.
  const SystemInitialized* system() const { return system_ ? &*system_ : nullptr; }
  const std::vector<uint32_t>& expiry_alert_days() const { return expiry_alert_days_; }
  uint64_t system_version() const { return system_version_; }

  // Certificates and partners of the present; removed ones are looked up apart.
  const CertificateRecord* certificate(const std::string& alias) const;
  const CertificateRecord* certificate_by_fingerprint(const std::string& fingerprint) const;
  const PartnerRecord* partner(const std::string& id) const;
  const CertificateRecord* removed_certificate(const std::string& alias) const;
  // The partner last removed under this id, if any.
  const PartnerRecord* removed_partner(const std::string& id) const;
  // The partner a schedule is for, even if that partner was removed since.
  const PartnerRecord& partner_of(const ScheduleRecord& s) const {
    return *schedule_partner_[schedule_number(s.proposed.schedule_id) - 1];
  }
  const ScheduleRecord* schedule(const std::string& id) const;
  const ListenerRecord* listener(Listener l) const;
  // The open schedule for a partner and role, if any.
  const ScheduleRecord* open_schedule(const std::string& partner, Role role) const;
  const ScheduleRecord* open_schedule(const PartnerRecord& p, Role role) const {
    const size_t n = p.open_schedule[static_cast<size_t>(role)];
    return n == 0 ? nullptr : &schedules_[n - 1];
  }

  const std::map<std::string, CertificateRecord>& certificates() const { return certificates_; }
  const std::map<std::string, PartnerRecord>& partners() const { return partners_; }
  const std::map<std::string, CertificateRecord>& removed_certificates() const { return removed_certificates_; }
  // Oldest removal first within an id.
  const std::multimap<std::string, PartnerRecord>& removed_partners() const { return removed_partners_; }
  // In the order they were proposed.
  const std::vector<std::string>& schedule_ids() const { return schedule_order_; }
  std::vector<const ScheduleRecord*> schedules_of_proposal(const std::string& proposal) const;
  uint64_t proposal_count() const { return proposal_count_; }
  // Admin notifications' delivery so far (absent: never tried).
  const DeliveryRecord* delivery(const std::string& notification_id) const;
  const std::unordered_map<std::string, DeliveryRecord>& deliveries() const { return deliveries_; }
  const ExpiryAlertRecord* expiry_alerts(const std::string& fingerprint) const;
  const std::map<std::string, ExpiryAlertRecord>& expiry_alert_records() const { return expiry_alerts_; }
  uint64_t alert_stream_version() const { return alert_version_; }

 private:
  Status apply_schedule_event(const eventstore::RecordedEvent& r, const Event& e);
  ScheduleRecord* find_schedule(std::string_view id) {
    const size_t n = schedule_number(id);
    return n == 0 || n > schedules_.size() ? nullptr : &schedules_[n - 1];
  }
  Status apply_partner_event(const eventstore::RecordedEvent& r, const Event& e);
  Status apply_listener_event(const eventstore::RecordedEvent& r, const Event& e);
  Status activate(const eventstore::RecordedEvent& r, PartnerRecord& p, Role role,
                  const std::string& alias, const std::string& fingerprint,
                  const std::string& schedule_id);

  uint64_t position_ = 0;
  std::optional<SystemInitialized> system_;
  std::vector<uint32_t> expiry_alert_days_ = kDefaultExpiryAlertDays;
  uint64_t system_version_ = 0;
  std::map<std::string, CertificateRecord> certificates_;
  std::unordered_map<std::string, std::string> alias_by_fingerprint_;
  std::map<std::string, PartnerRecord> partners_;
  // A removed partner's node moves here whole, so schedule_partner_ still points to it.
  std::multimap<std::string, PartnerRecord> removed_partners_;
  std::map<std::string, CertificateRecord> removed_certificates_;
  // Schedule Sn at index n-1: the engine numbers schedules S1, S2, ... as it proposes
  // them, and apply refuses any other id, so a lookup is an index, not a hash probe (the
  // largest cost of a replay when schedules were hashed by name).
  std::deque<ScheduleRecord> schedules_;
  std::vector<std::string> schedule_order_;
  std::map<std::string, std::vector<std::string>> schedules_by_proposal_;
  std::vector<PartnerRecord*> schedule_partner_;  // by schedule number - 1
  std::array<std::optional<ListenerRecord>, kListenerCount> listeners_;
  uint64_t proposal_count_ = 0;
  std::unordered_map<std::string, DeliveryRecord> deliveries_;
  std::map<std::string, ExpiryAlertRecord> expiry_alerts_;
  uint64_t alert_version_ = 0;
};

}  // namespace certsched::domain
