// The notification outbox: every mail certsched owes, derived from the log only.
//   partner mails  - the new public certificates of a confirmed proposal that asked for it,
//                    one mail per partner and proposal, until the SMTP server accepts it;
//   admin mails    - each activation, each listener install, delivery and install failures,
//                    and (added by the scheduler) listeners blocked and schedules overdue.
// A notification's id is stable, so a retry (or a resend after a crash) carries the same
// Message-ID and a duplicate is recognisable.
#pragma once

#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

#include "domain/event_observer.h"

namespace certsched::projections {

struct Attachment {
  std::string filename;
  std::string content_type;
  std::string content;
};

struct Notification {
  std::string id;
  bool to_partner = false;
  std::vector<std::string> schedule_ids;  // partner mails: the schedules it delivers for
  std::vector<std::string> to;
  std::string subject;
  std::string body;
  std::vector<Attachment> attachments;
  // False for the scheduler's time-based alerts (blocked, overdue): they are not derived
  // from the log, so the persisted outbox projection leaves them out.
  bool from_log = true;
  int64_t since_ns = 0;  // the instant of the event that made it owed
};

// A notification whose owed status may have changed: still owed (`owed`), or not (null).
struct OwedChange {
  std::string id;
  const Notification* owed;
};

// Retry delays grow from 5 s, doubling, up to 15 min.
int64_t retry_delay_ns(uint32_t attempts);

class NotificationOutbox : public domain::EventObserver {
 public:
  Status on_event(const eventstore::RecordedEvent& r, const domain::Event& e, const domain::DomainState& after) override;

  // Adds a notification that does not come from a single event (blocked, overdue), unless
  // it was delivered already.
  void add(Notification n, const domain::DomainState& state);

  // Undelivered notifications whose retry time has come, oldest first.
  std::vector<Notification> due(const domain::DomainState& state, int64_t now_ns);
  // The earliest instant a currently waiting notification may be retried (0: none waiting).
  int64_t next_attempt_ns(const domain::DomainState& state);
  size_t waiting(const domain::DomainState& state);
  // Every notification still owed, oldest first.
  std::vector<const Notification*> owed(const domain::DomainState& state);

  // For a mirror of the outbox (the outbox projection), which would otherwise compare the
  // whole outbox after every event: from now on, the outbox lists what each event changed,
  // and take_changes() hands the list over.
  void track_changes() { tracking_ = true; }
  std::vector<OwedChange> take_changes(const domain::DomainState& state);

 private:
  using Entry = std::list<Notification>::iterator;
  bool still_owed(const Notification& n, const domain::DomainState& state) const;
  int64_t attempt_at(const Notification& n, const domain::DomainState& state) const;
  void prune(const domain::DomainState& state);
  void forget(Entry entry);
  void touch(const std::string& id) {
    if (tracking_) touched_.push_back(id);
  }

  // Oldest first. A list, so that forgetting one is cheap and pointers to the rest stay valid.
  std::list<Notification> owed_;
  std::unordered_map<std::string, Entry> by_id_;
  std::unordered_map<std::string, std::string> mail_of_schedule_;  // schedule id -> partner mail id
  bool tracking_ = false;
  std::vector<std::string> touched_;  // ids whose status may have changed since take_changes()
};

}  // namespace certsched::projections
