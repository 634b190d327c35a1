// The per-(partner, role) schedule state machine, as a plain interface. The Boost.MSM
// machinery lives in schedule_machine.cc only, so including this header costs nothing.
//
//   (none) --propose--> proposed --confirm--> confirmed --mail-sent--> emailed --queue--> pending
//   proposed --decline--> withdrawn          confirmed --queue [no email asked]--> pending
//   confirmed --mail-failed [email asked]--> confirmed (retried, the admin alerted)
//   confirmed --skip-email [email asked]--> pending
//   confirmed | emailed | pending --cancel--> cancelled
//   pending --activate--> activated
//   confirmed | emailed | pending --first-usage [first usage applies]--> activated
//
// Anything else is refused and leaves the machine as it was.
#pragma once

#include <cstdint>
#include <memory>

namespace certsched::statemachines {

enum class ScheduleState : uint8_t {
  kNone,  // before its first event
  kProposed,
  kConfirmed,
  kEmailed,
  kPending,
  kActivated,
  kWithdrawn,
  kCancelled,
};

enum class ScheduleTrigger : uint8_t {
  kPropose,
  kConfirm,
  kDecline,
  kMailSent,
  kMailFailed,
  kSkipEmail,
  kQueue,
  kCancel,
  kActivate,
  kFirstUsage,
};

// Facts fixed when the schedule is proposed; the guards read them.
struct ScheduleFacts {
  bool email_requested = false;
  bool first_usage_applies = false;
};

const char* to_string(ScheduleState s);
const char* to_string(ScheduleTrigger t);

// Open schedules block a second schedule for the same partner and role.
inline bool is_open(ScheduleState s) {
  return s == ScheduleState::kProposed || s == ScheduleState::kConfirmed ||
         s == ScheduleState::kEmailed || s == ScheduleState::kPending;
}

class ScheduleMachine {
 public:
  ScheduleMachine();
  ~ScheduleMachine();
  ScheduleMachine(ScheduleMachine&&) noexcept;
  ScheduleMachine& operator=(ScheduleMachine&&) noexcept;

  // Fixed at kPropose; set before firing it.
  void set_facts(const ScheduleFacts& facts);
  const ScheduleFacts& facts() const;

  // Applies the trigger if the machine allows it in its current state; returns whether it did.
  [[nodiscard]] bool fire(ScheduleTrigger trigger);
  ScheduleState state() const;

  // Whether `trigger` would be accepted now, without firing it.
  bool accepts(ScheduleTrigger trigger) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace certsched::statemachines
