#include "projections/notification_outbox.h"

#include <algorithm>

#include "domain/certificate.h"
#include "domain/expiry_alerts.h"
#include "domain/instant.h"

namespace certsched::projections {

using domain::format_instant;

int64_t retry_delay_ns(uint32_t attempts) {
  if (attempts == 0) return 0;
  int64_t delay = 5'000'000'000LL << std::min<uint32_t>(attempts - 1, 10);
  return std::min<int64_t>(delay, 15 * 60 * 1'000'000'000LL);
}

namespace {

bool alert_worthy(uint32_t attempt) { return attempt == 1 || attempt % 5 == 0; }

std::string cert_line(const domain::DomainState& s, const std::string& alias) {
  const auto* c = s.certificate(alias);
  if (!c) return alias;
  return alias + " (" + c->cert.subject + ")\n      SHA-256 " + c->cert.fingerprint + "\n      valid " +
         format_instant(c->cert.not_before_ns) + " to " + format_instant(c->cert.not_after_ns);
}

const char* cause_text(uint8_t cause) {
  switch (static_cast<domain::ActivationCause>(cause)) {
    case domain::ActivationCause::kScheduledTime: return "its scheduled time came";
    case domain::ActivationCause::kFirstUsage: return "the partner first used it";
    case domain::ActivationCause::kListenerInstall: return "its listener installed it";
  }
  return "unknown";
}

}  // namespace

Status NotificationOutbox::on_event(const eventstore::RecordedEvent& r, const domain::Event& e,
                                    const domain::DomainState& s) {
  const domain::SystemInitialized* sys = s.system();
  // Without an admin address and an SMTP server no admin mail is owed; the branches below
  // ask before composing one (a rebuild passes every activation of the log through here).
  const bool mails_admin = sys && !sys->admin_email.empty() && !sys->smtp_url.empty();
  auto admin_mail = [&](std::string id, std::string subject, std::string body) {
    Notification n;
    n.id = std::move(id);
    n.to = {sys->admin_email};
    n.subject = "certsched: " + subject;
    n.body = std::move(body) + "\n\n-- certsched (event position " + std::to_string(r.position) + ", actor " + r.actor + ")\n";
    n.since_ns = r.time_ns;
    add(std::move(n), s);
  };
  const std::string schedule_id(domain::stream_id(r.stream, domain::StreamKind::kSchedule).value_or(""));
  // A schedule's events are what settle its partner mail (sent, skipped, cancelled, ...).
  if (auto mail = mail_of_schedule_.find(schedule_id); mail != mail_of_schedule_.end()) touch(mail->second);

  if (std::holds_alternative<domain::ScheduleConfirmed>(e)) {
    const domain::ScheduleRecord* sc = s.schedule(schedule_id);
    if (!sc || !sc->proposed.email_partner) return Status::Ok();
    const domain::PartnerRecord* p = s.partner(sc->proposed.partner);
    const std::string id = "partner-mail/" + sc->proposed.proposal_id + "/" + p->id;
    auto it = by_id_.find(id);
    if (it == by_id_.end()) {
      Notification n;
      n.id = id;
      n.to_partner = true;
      n.to = {p->email};
      n.subject = "New certificates for our exchanges with " + p->id;
      n.body = "Hello " + p->id + ",\n\nwe have scheduled new certificates for our exchanges with you (" +
               std::string(domain::to_string(p->protocol)) + ", proposal " + sc->proposed.proposal_id +
               "). The certificates are attached as PEM files.\n";
      n.since_ns = r.time_ns;
      add(std::move(n), s);
      it = by_id_.find(id);
      if (it == by_id_.end()) return Status::Ok();  // delivered already
    }
    Notification& n = *it->second;
    n.schedule_ids.push_back(schedule_id);
    mail_of_schedule_[schedule_id] = id;
    touch(id);
    n.body += "\n  " + std::string(domain::to_string(sc->role())) + ": " + cert_line(s, sc->proposed.alias) +
              "\n      takes effect " + format_instant(sc->proposed.activate_at_ns) +
              (sc->proposed.first_usage ? ", or when you first use it" : "") + "\n";
    const auto* c = s.certificate(sc->proposed.alias);
    n.attachments.push_back({sc->proposed.alias + ".pem", "application/x-pem-file", domain::certificate_pem(c->cert.der)});
    return Status::Ok();
  }
  if (const auto* a = std::get_if<domain::ScheduleActivated>(&e); a && mails_admin) {
    const domain::ScheduleRecord* sc = s.schedule(schedule_id);
    admin_mail("activated/" + schedule_id,
               std::string(domain::to_string(sc->role())) + " " + sc->proposed.alias + " is now current for " +
                   sc->proposed.partner,
               "Schedule " + schedule_id + " (proposal " + sc->proposed.proposal_id + ") activated at " +
                   format_instant(r.time_ns) + " because " + cause_text(a->cause) + ".\n\n  partner: " +
                   sc->proposed.partner + "\n  role:    " + domain::to_string(sc->role()) + "\n  new:     " +
                   cert_line(s, sc->proposed.alias) + "\n  old:     " +
                   (a->previous_alias.empty() ? std::string("(none)") : cert_line(s, a->previous_alias)));
    return Status::Ok();
  }
  const std::string listener(domain::stream_id(r.stream, domain::StreamKind::kListener).value_or(""));
  if (const auto* i = std::get_if<domain::ListenerCertificateInstalled>(&e); i && mails_admin) {
    const auto* previous = s.certificate_by_fingerprint(i->previous_fingerprint);
    admin_mail("installed/" + listener + "/" + std::to_string(r.position),
               "listener " + listener + " now serves " + i->alias,
               "Listener " + listener + " installed its new server certificate at " + format_instant(r.time_ns) +
                   ".\n\n  new: " + cert_line(s, i->alias) + "\n  old: " +
                   (previous ? cert_line(s, previous->cert.alias) : std::string("(none)")));
    return Status::Ok();
  }
  if (const auto* f = std::get_if<domain::PartnerMailFailed>(&e); f && mails_admin) {
    const domain::ScheduleRecord* sc = s.schedule(schedule_id);
    if (!alert_worthy(f->attempt)) return Status::Ok();
    admin_mail("mail-failed/" + schedule_id + "/" + std::to_string(f->attempt),
               "mail to partner " + sc->proposed.partner + " failed (attempt " + std::to_string(f->attempt) + ")",
               "The new certificates of schedule " + schedule_id + " could not be mailed to partner " +
                   sc->proposed.partner + ": " + f->error +
                   "\n\ncertsched retries with backoff. The schedule stays confirmed and does not activate until "
                   "the mail is accepted, or until an operator runs\n  certsched schedule skip-email " +
                   schedule_id + " --reason TEXT");
    return Status::Ok();
  }
  if (const auto* f = std::get_if<domain::ListenerInstallFailed>(&e); f && mails_admin) {
    if (!alert_worthy(f->attempt)) return Status::Ok();
    admin_mail("install-failed/" + listener + "/" + std::to_string(f->attempt),
               "listener " + listener + " failed to install its new certificate (attempt " +
                   std::to_string(f->attempt) + ")",
               "Installing the new server certificate on listener " + listener + " failed: " + f->error +
                   "\n\nThe previous certificate and key were left in place. certsched retries.");
    return Status::Ok();
  }
  if (const auto* a = std::get_if<domain::ExpiryAlertRaised>(&e); a && mails_admin) {
    const std::string when = format_instant(a->not_after_ns);
    std::string body = a->threshold_days == 0
                           ? "Certificate " + a->alias + " expired at " + when + " and is still in use."
                           : "Certificate " + a->alias + " expires at " + when + ", within " +
                                 std::to_string(a->threshold_days) + " days.";
    body += "\n\n  " + cert_line(s, a->alias) + "\n\nUsed by:";
    bool replaced_everywhere = true;
    for (size_t i = 0; i < a->uses.size(); ++i) {
      body += "\n  " + a->uses[i] + ": " + (a->replacements[i].empty() ? "no replacement scheduled" : "replacement " + a->replacements[i]);
      replaced_everywhere &= !a->replacements[i].empty();
    }
    body += replaced_everywhere ? "\n\nEach replacement must be confirmed and take effect before the expiry."
                                : "\n\nSchedule a replacement with\n  certsched schedule propose --partners ID --role ROLE=ALIAS --at INSTANT";
    admin_mail(domain::expiry_notification_id(*a),
               a->threshold_days == 0 ? "certificate " + a->alias + " has expired and is still in use"
                                      : "certificate " + a->alias + " expires within " + std::to_string(a->threshold_days) +
                                            " days (" + when.substr(0, 10) + ")",
               body);
    return Status::Ok();
  }
  if (const auto* d = std::get_if<domain::NotificationDelivered>(&e)) {
    if (auto it = by_id_.find(d->notification_id); it != by_id_.end()) forget(it->second);
    touch(d->notification_id);
  }
  return Status::Ok();
}

void NotificationOutbox::add(Notification n, const domain::DomainState& state) {
  const domain::DeliveryRecord* d = state.delivery(n.id);
  if ((d && d->delivered) || by_id_.count(n.id)) return;
  touch(n.id);
  owed_.push_back(std::move(n));
  by_id_.emplace(owed_.back().id, std::prev(owed_.end()));
}

void NotificationOutbox::forget(Entry entry) {
  for (const auto& schedule : entry->schedule_ids) mail_of_schedule_.erase(schedule);
  by_id_.erase(entry->id);
  owed_.erase(entry);
}

bool NotificationOutbox::still_owed(const Notification& n, const domain::DomainState& s) const {
  if (!n.to_partner) {
    const domain::DeliveryRecord* d = s.delivery(n.id);
    return !(d && d->delivered);
  }
  for (const auto& id : n.schedule_ids) {
    const domain::ScheduleRecord* sc = s.schedule(id);
    if (sc && sc->machine.accepts(statemachines::ScheduleTrigger::kMailSent)) return true;
  }
  return false;
}

int64_t NotificationOutbox::attempt_at(const Notification& n, const domain::DomainState& s) const {
  uint32_t attempts = 0;
  int64_t last = 0;
  if (n.to_partner) {
    for (const auto& id : n.schedule_ids) {
      const domain::ScheduleRecord* sc = s.schedule(id);
      if (sc && sc->mail_attempts >= attempts) {
        attempts = sc->mail_attempts;
        last = std::max(last, sc->last_mail_attempt_ns);
      }
    }
  } else if (const domain::DeliveryRecord* d = s.delivery(n.id)) {
    attempts = d->attempts;
    last = d->last_attempt_ns;
  }
  return attempts == 0 ? 0 : last + retry_delay_ns(attempts);
}

void NotificationOutbox::prune(const domain::DomainState& s) {
  for (auto it = owed_.begin(); it != owed_.end();) {
    const Entry entry = it++;
    if (still_owed(*entry, s)) continue;
    touch(entry->id);  // a mirror must learn of it even if no event named it
    forget(entry);
  }
}

std::vector<Notification> NotificationOutbox::due(const domain::DomainState& s, int64_t now_ns) {
  prune(s);
  std::vector<Notification> out;
  for (const Notification& n : owed_) {
    if (attempt_at(n, s) <= now_ns) out.push_back(n);
  }
  return out;
}

int64_t NotificationOutbox::next_attempt_ns(const domain::DomainState& s) {
  prune(s);
  int64_t next = 0;
  for (const Notification& n : owed_) {
    const int64_t at = std::max<int64_t>(attempt_at(n, s), 1);
    if (next == 0 || at < next) next = at;
  }
  return next;
}

std::vector<const Notification*> NotificationOutbox::owed(const domain::DomainState& s) {
  prune(s);
  std::vector<const Notification*> out;
  for (const Notification& n : owed_) out.push_back(&n);
  return out;
}

size_t NotificationOutbox::waiting(const domain::DomainState& s) {
  prune(s);
  return owed_.size();
}

std::vector<OwedChange> NotificationOutbox::take_changes(const domain::DomainState& s) {
  std::sort(touched_.begin(), touched_.end());
  touched_.erase(std::unique(touched_.begin(), touched_.end()), touched_.end());
  std::vector<OwedChange> out;
  for (std::string& id : touched_) {
    const Notification* owed = nullptr;
    if (auto it = by_id_.find(id); it != by_id_.end()) {
      if (still_owed(*it->second, s)) {
        owed = &*it->second;
      } else {
        forget(it->second);
      }
    }
    out.push_back({std::move(id), owed});
  }
  touched_.clear();
  return out;
}

}  // namespace certsched::projections
