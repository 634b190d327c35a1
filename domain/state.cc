#include "domain/state.h"

#include <charconv>

#include "domain/event_codec.h"

namespace certsched::domain {

using statemachines::ListenerFacts;
using statemachines::ListenerTrigger;
using statemachines::ScheduleFacts;
using statemachines::ScheduleState;
using statemachines::ScheduleTrigger;


size_t schedule_number(std::string_view id) {
  if (id.size() < 2 || id[0] != 'S' || id[1] == '0') return 0;
  size_t n = 0;
  const auto [end, ec] = std::from_chars(id.data() + 1, id.data() + id.size(), n);
  return ec == std::errc() && end == id.data() + id.size() ? n : 0;
}

namespace {

Status refused(const eventstore::RecordedEvent& r, const std::string& why) {
  return Status::Corruption("stream " + r.stream + " version " + std::to_string(r.stream_version) +
                            " (position " + std::to_string(r.position) + "): " + r.type + " " + why);
}

template <class T>
constexpr bool is_schedule_event =
    std::is_same_v<T, ScheduleProposed> || std::is_same_v<T, ScheduleConfirmed> ||
    std::is_same_v<T, ScheduleDeclined> || std::is_same_v<T, ScheduleQueued> ||
    std::is_same_v<T, PartnerMailSent> || std::is_same_v<T, PartnerMailFailed> ||
    std::is_same_v<T, EmailSkipped> || std::is_same_v<T, ScheduleCancelled> ||
    std::is_same_v<T, ScheduleActivated>;

template <class T>
constexpr bool is_listener_event =
    std::is_same_v<T, ListenerConfigured> || std::is_same_v<T, ListenerChangeProposed> ||
    std::is_same_v<T, ListenerChangeWithdrawn> || std::is_same_v<T, ListenerCertificateInstalled> ||
    std::is_same_v<T, ListenerInstallFailed>;

std::optional<Listener> listener_of_stream(const std::string& stream) {
  const std::string prefix = "listener-";
  if (stream.rfind(prefix, 0) != 0) return std::nullopt;
  return parse_listener(stream.substr(prefix.size()));
}

}  // namespace

Status DomainState::apply(const eventstore::RecordedEvent& record) {
  CERTSCHED_ASSIGN_OR_RETURN(auto event, decode_event(record));
  return apply(record, event);
}

Status DomainState::apply(const eventstore::RecordedEvent& r, const Event& event) {
  if (r.position != position_ + 1) {
    return Status::Corruption("event at position " + std::to_string(r.position) +
                              " applied after position " + std::to_string(position_));
  }
  Status st = std::visit(
      [&](const auto& e) -> Status {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, SystemInitialized>) {
          if (r.stream != kSystemStream || system_) return refused(r, "is out of place");
          system_ = e;
          system_version_ = r.stream_version;
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, SystemOptionsChanged>) {
          if (r.stream != kSystemStream || !system_) return refused(r, "is out of place");
          system_->admin_email = e.admin_email;
          system_->smtp_url = e.smtp_url;
          system_->mail_from = e.mail_from;
          expiry_alert_days_ = e.expiry_alert_days;
          system_version_ = r.stream_version;
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, CertificateImported>) {
          if (r.stream != certificate_stream(e.alias) || certificates_.count(e.alias) ||
              removed_certificates_.count(e.alias)) {
            return refused(r, "repeats or misplaces certificate " + e.alias);
          }
          CertificateRecord& c = certificates_[e.alias];
          c.cert = e;
          c.imported_at_ns = r.time_ns;
          c.imported_by = r.actor;
          alias_by_fingerprint_[e.fingerprint] = e.alias;
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, CertificateRemoved>) {
          const auto alias = stream_id(r.stream, StreamKind::kCertificate);
          auto it = alias ? certificates_.find(std::string(*alias)) : certificates_.end();
          if (it == certificates_.end()) return refused(r, "removes an unknown certificate");
          auto node = certificates_.extract(it);
          CertificateRecord& c = node.mapped();
          c.removed_at_ns = r.time_ns;
          c.removed_by = r.actor;
          c.removal_reason = e.reason;
          if (auto fp = alias_by_fingerprint_.find(c.cert.fingerprint); fp != alias_by_fingerprint_.end() && fp->second == c.cert.alias) {
            alias_by_fingerprint_.erase(fp);
          }
          removed_certificates_.insert(std::move(node));
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, PartnerAdded> || std::is_same_v<T, PartnerUpdated> ||
                             std::is_same_v<T, PartnerRemoved>) {
          return apply_partner_event(r, event);
        } else if constexpr (std::is_same_v<T, PartnerCertificateActivated>) {
          const auto partner_id = stream_id(r.stream, StreamKind::kPartner);
          if (!partner_id) return refused(r, "is not on a partner stream");
          const std::string_view id = *partner_id;
          // Most activations come from a schedule, which knows its partner: a lookup by
          // number instead of a search among every partner's id.
          const size_t n = schedule_number(e.schedule_id);
          PartnerRecord* partner = n >= 1 && n <= schedule_partner_.size() ? schedule_partner_[n - 1] : nullptr;
          if (!partner || partner->id != id || partner->removed_at_ns != 0) {
            auto it = partners_.find(std::string(id));
            partner = it == partners_.end() ? nullptr : &it->second;
          }
          if (!partner) return refused(r, "names an unknown partner");
          Status a = activate(r, *partner, static_cast<Role>(e.role), e.alias, e.fingerprint, e.schedule_id);
          partner->version = r.stream_version;
          return a;
        } else if constexpr (std::is_same_v<T, NotificationDelivered>) {
          if (r.stream != kNotificationStream) return refused(r, "is out of place");
          DeliveryRecord& d = deliveries_[e.notification_id];
          if (d.delivered) return refused(r, "repeats delivery of " + e.notification_id);
          d.delivered = true;
          d.message_id = e.message_id;
          d.last_attempt_ns = r.time_ns;
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, NotificationFailed>) {
          if (r.stream != kNotificationStream) return refused(r, "is out of place");
          DeliveryRecord& d = deliveries_[e.notification_id];
          d.attempts = e.attempt;
          d.last_error = e.error;
          d.last_attempt_ns = r.time_ns;
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, ExpiryAlertRaised>) {
          if (r.stream != kAlertStream) return refused(r, "is out of place");
          ExpiryAlertRecord& a = expiry_alerts_[e.fingerprint];
          if (e.threshold_days == 0) {
            if (e.day <= a.expired_day) return refused(r, "repeats the expired alert of its day");
            a.expired_day = e.day;
          } else {
            if (a.smallest_threshold != 0 && e.threshold_days >= a.smallest_threshold) {
              return refused(r, "repeats an alert of that threshold");
            }
            a.smallest_threshold = e.threshold_days;
          }
          ++a.count;
          a.last_alert_ns = r.time_ns;
          alert_version_ = r.stream_version;
          return Status::Ok();
        } else if constexpr (is_listener_event<T>) {
          return apply_listener_event(r, event);
        } else if constexpr (is_schedule_event<T>) {
          return apply_schedule_event(r, event);
        }
      },
      event);
  if (st.ok()) position_ = r.position;
  return st;
}

Status DomainState::apply_partner_event(const eventstore::RecordedEvent& r, const Event& event) {
  const auto stream_partner = stream_id(r.stream, StreamKind::kPartner);
  if (!stream_partner) return refused(r, "is not on a partner stream");
  const std::string id(*stream_partner);
  auto it = partners_.find(id);
  if (const auto* e = std::get_if<PartnerAdded>(&event)) {
    if (e->id != id || it != partners_.end()) return refused(r, "repeats or misplaces partner " + e->id);
    PartnerRecord p;
    p.id = e->id;
    p.protocol = static_cast<Protocol>(e->protocol);
    p.email = e->email;
    p.cem = e->cem != 0;
    for (const RoleAssignment& a : e->certificates) {
      const CertificateRecord* c = certificate(a.alias);
      p.current[a.role] = CertRef{a.alias, a.fingerprint, c ? c->cert.not_after_ns : 0};
      p.current_since_ns[a.role] = r.time_ns;
    }
    p.version = r.stream_version;
    p.generation = static_cast<uint32_t>(removed_partners_.count(id)) + 1;
    partners_[e->id] = std::move(p);
    return Status::Ok();
  }
  if (it == partners_.end()) return refused(r, "names an unknown partner");
  PartnerRecord& p = it->second;
  p.version = r.stream_version;
  if (const auto* e = std::get_if<PartnerUpdated>(&event)) {
    p.protocol = static_cast<Protocol>(e->protocol);
    p.email = e->email;
    p.cem = e->cem != 0;
    return Status::Ok();
  }
  for (size_t open : p.open_schedule) {
    if (open != 0) return refused(r, "removes a partner with an open schedule");
  }
  p.removed_at_ns = r.time_ns;
  p.removed_by = r.actor;
  p.removal_reason = std::get<PartnerRemoved>(event).reason;
  removed_partners_.insert(partners_.extract(it));
  return Status::Ok();
}

Status DomainState::activate(const eventstore::RecordedEvent& r, PartnerRecord& p,
                             Role role, const std::string& alias, const std::string& fingerprint,
                             const std::string& schedule_id) {
  const auto i = static_cast<size_t>(role);
  if (p.current[i]) {
    p.history.push_back({role, *p.current[i], p.current_since_ns[i], r.time_ns, schedule_id});
  }
  const CertificateRecord* c = certificate(alias);
  if (!c) return refused(r, "activates unknown certificate " + alias);
  p.current[i] = CertRef{alias, fingerprint, c->cert.not_after_ns};
  p.current_since_ns[i] = r.time_ns;
  return Status::Ok();
}

Status DomainState::apply_listener_event(const eventstore::RecordedEvent& r, const Event& event) {
  const auto which = listener_of_stream(r.stream);
  if (!which) return refused(r, "is not on a listener stream");
  auto& slot = listeners_[static_cast<size_t>(*which)];
  if (!slot) {
    slot.emplace();
    slot->listener = *which;
  }
  ListenerRecord& l = *slot;
  ListenerFacts facts;
  ListenerTrigger trigger;
  if (const auto* e = std::get_if<ListenerConfigured>(&event)) {
    if (e->listener != static_cast<uint8_t>(*which)) return refused(r, "names another listener");
    facts.keeps_certificate = l.current && l.current->fingerprint == e->fingerprint;
    trigger = ListenerTrigger::kConfigure;
  } else if (const auto* e = std::get_if<ListenerChangeProposed>(&event)) {
    facts.same_pending_certificate = l.pending && l.pending->fingerprint == e->fingerprint;
    trigger = ListenerTrigger::kProposeChange;
  } else if (std::holds_alternative<ListenerChangeWithdrawn>(event)) {
    trigger = ListenerTrigger::kWithdrawChange;
  } else if (const auto* e = std::get_if<ListenerCertificateInstalled>(&event)) {
    facts.all_partners_ready = l.pending && l.pending->fingerprint == e->fingerprint;
    trigger = ListenerTrigger::kInstall;
  } else {
    trigger = ListenerTrigger::kInstallFailed;
  }
  if (!l.machine.fire(trigger, facts)) {
    return refused(r, std::string("is not allowed for listener ") + to_string(*which) + " in state " +
                          statemachines::to_string(l.machine.state()));
  }
  l.version = r.stream_version;
  auto ref = [&](const std::string& alias, const std::string& fp) {
    const CertificateRecord* c = certificate(alias);
    return CertRef{alias, fp, c ? c->cert.not_after_ns : 0};
  };
  if (const auto* e = std::get_if<ListenerConfigured>(&event)) {
    l.current = ref(e->alias, e->fingerprint);
    l.dir = e->dir;
    l.reload_command = e->reload_command;
  } else if (const auto* e = std::get_if<ListenerChangeProposed>(&event)) {
    l.pending = ref(e->alias, e->fingerprint);
    l.pending_proposal = e->proposal_id;
  } else if (std::holds_alternative<ListenerChangeWithdrawn>(event)) {
    l.pending.reset();
    l.pending_proposal.clear();
  } else if (const auto* e = std::get_if<ListenerCertificateInstalled>(&event)) {
    l.current = ref(e->alias, e->fingerprint);
    l.pending.reset();
    l.pending_proposal.clear();
    l.install_failures = 0;
    l.last_error.clear();
  } else if (const auto* e = std::get_if<ListenerInstallFailed>(&event)) {
    l.install_failures = e->attempt;
    l.last_error = e->error;
    l.last_failure_ns = r.time_ns;
  }
  return Status::Ok();
}

Status DomainState::apply_schedule_event(const eventstore::RecordedEvent& r, const Event& event) {
  const auto schedule_id = stream_id(r.stream, StreamKind::kSchedule);
  if (!schedule_id) return refused(r, "is not on a schedule stream");
  const std::string id(*schedule_id);

  if (const auto* e = std::get_if<ScheduleProposed>(&event)) {
    const std::string next = "S" + std::to_string(schedules_.size() + 1);
    if (e->schedule_id != id || id != next) {
      return refused(r, "proposes schedule " + id + " out of sequence (the next is " + next + ")");
    }
    auto partner = partners_.find(e->partner);
    if (partner == partners_.end() || !certificates_.count(e->alias)) {
      return refused(r, "names an unknown partner or certificate");
    }
    ScheduleRecord s;
    s.proposed = *e;
    s.machine.set_facts({e->email_partner != 0, e->first_usage != 0});
    if (!s.machine.fire(ScheduleTrigger::kPropose)) return refused(r, "cannot start a schedule");
    s.version = r.stream_version;
    s.proposed_at_ns = s.updated_at_ns = r.time_ns;
    s.proposed_by = r.actor;
    size_t& open = partner->second.open_schedule[e->role];
    if (open != 0) {
      return refused(r, "opens a second schedule for partner " + e->partner + " and " +
                            to_string(static_cast<Role>(e->role)));
    }
    open = schedules_.size() + 1;
    schedule_partner_.push_back(&partner->second);
    auto& in_proposal = schedules_by_proposal_[e->proposal_id];
    if (in_proposal.empty()) ++proposal_count_;
    in_proposal.push_back(id);
    schedule_order_.push_back(id);
    schedules_.push_back(std::move(s));
    return Status::Ok();
  }

  ScheduleRecord* found = find_schedule(id);
  if (!found) return refused(r, "names unknown schedule " + id);
  ScheduleRecord& s = *found;
  ScheduleTrigger trigger;
  if (std::holds_alternative<ScheduleConfirmed>(event)) {
    trigger = ScheduleTrigger::kConfirm;
  } else if (std::holds_alternative<ScheduleDeclined>(event)) {
    trigger = ScheduleTrigger::kDecline;
  } else if (std::holds_alternative<ScheduleQueued>(event)) {
    trigger = ScheduleTrigger::kQueue;
  } else if (std::holds_alternative<PartnerMailSent>(event)) {
    trigger = ScheduleTrigger::kMailSent;
  } else if (std::holds_alternative<PartnerMailFailed>(event)) {
    trigger = ScheduleTrigger::kMailFailed;
  } else if (std::holds_alternative<EmailSkipped>(event)) {
    trigger = ScheduleTrigger::kSkipEmail;
  } else if (std::holds_alternative<ScheduleCancelled>(event)) {
    trigger = ScheduleTrigger::kCancel;
  } else {
    const auto& a = std::get<ScheduleActivated>(event);
    trigger = static_cast<ActivationCause>(a.cause) == ActivationCause::kFirstUsage
                  ? ScheduleTrigger::kFirstUsage
                  : ScheduleTrigger::kActivate;
  }
  const ScheduleState before = s.machine.state();
  if (!s.machine.fire(trigger)) {
    return refused(r, std::string("is not allowed for schedule ") + id + " in state " +
                          statemachines::to_string(before));
  }
  s.version = r.stream_version;
  s.updated_at_ns = r.time_ns;
  if (std::holds_alternative<ScheduleConfirmed>(event)) {
    s.confirmed_by = r.actor;
    s.confirmed_at_ns = r.time_ns;
  }
  if (const auto* e = std::get_if<PartnerMailSent>(&event)) s.mail_message_id = e->message_id;
  if (const auto* e = std::get_if<PartnerMailFailed>(&event)) {
    s.mail_attempts = e->attempt;
    s.last_mail_error = e->error;
    s.last_mail_attempt_ns = r.time_ns;
  }
  if (const auto* e = std::get_if<EmailSkipped>(&event)) s.reason = e->reason;
  if (const auto* e = std::get_if<ScheduleCancelled>(&event)) s.reason = e->reason;
  if (const auto* e = std::get_if<ScheduleActivated>(&event)) {
    s.activated_at_ns = r.time_ns;
    s.activation_cause = static_cast<ActivationCause>(e->cause);
  }
  if (!statemachines::is_open(s.machine.state())) {
    schedule_partner_[schedule_number(id) - 1]->open_schedule[s.proposed.role] = 0;
  }
  return Status::Ok();
}

const CertificateRecord* DomainState::certificate(const std::string& alias) const {
  auto it = certificates_.find(alias);
  return it == certificates_.end() ? nullptr : &it->second;
}

const CertificateRecord* DomainState::certificate_by_fingerprint(const std::string& fp) const {
  auto it = alias_by_fingerprint_.find(fp);
  return it == alias_by_fingerprint_.end() ? nullptr : certificate(it->second);
}

const PartnerRecord* DomainState::partner(const std::string& id) const {
  auto it = partners_.find(id);
  return it == partners_.end() ? nullptr : &it->second;
}

const CertificateRecord* DomainState::removed_certificate(const std::string& alias) const {
  auto it = removed_certificates_.find(alias);
  return it == removed_certificates_.end() ? nullptr : &it->second;
}

const PartnerRecord* DomainState::removed_partner(const std::string& id) const {
  auto [first, last] = removed_partners_.equal_range(id);
  return first == last ? nullptr : &std::prev(last)->second;
}

const ScheduleRecord* DomainState::schedule(const std::string& id) const {
  return const_cast<DomainState*>(this)->find_schedule(id);
}

const ListenerRecord* DomainState::listener(Listener l) const {
  const auto& slot = listeners_[static_cast<size_t>(l)];
  return slot ? &*slot : nullptr;
}

const ScheduleRecord* DomainState::open_schedule(const std::string& partner, Role role) const {
  auto it = partners_.find(partner);
  return it == partners_.end() ? nullptr : open_schedule(it->second, role);
}

const ExpiryAlertRecord* DomainState::expiry_alerts(const std::string& fingerprint) const {
  auto it = expiry_alerts_.find(fingerprint);
  return it == expiry_alerts_.end() ? nullptr : &it->second;
}

const DeliveryRecord* DomainState::delivery(const std::string& id) const {
  auto it = deliveries_.find(id);
  return it == deliveries_.end() ? nullptr : &it->second;
}

std::vector<const ScheduleRecord*> DomainState::schedules_of_proposal(const std::string& p) const {
  std::vector<const ScheduleRecord*> out;
  auto it = schedules_by_proposal_.find(p);
  if (it == schedules_by_proposal_.end()) return out;
  for (const auto& id : it->second) out.push_back(schedule(id));
  return out;
}

}  // namespace certsched::domain
