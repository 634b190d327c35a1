// Boost.MSM implementation of the schedule machine (see schedule_machine.h).
// Compiled as C++17: Boost 1.74's MSM does not compile as C++20 with GCC 12.
#include "statemachines/schedule_machine.h"

#include <boost/msm/back/state_machine.hpp>
#include <boost/msm/front/functor_row.hpp>
#include <boost/msm/front/state_machine_def.hpp>

namespace certsched::statemachines {
namespace {

namespace msm = boost::msm;
namespace mpl = boost::mpl;
using msm::front::none;
using msm::front::Row;

// Events
struct Propose {};
struct Confirm {};
struct Decline {};
struct MailSent {};
struct MailFailed {};
struct SkipEmail {};
struct Queue {};
struct Cancel {};
struct Activate {};
struct FirstUsage {};

struct ScheduleDef : msm::front::state_machine_def<ScheduleDef> {
  // No action posts an event, so the machine needs no event queue; without one it holds no
  // std::deque, which allocates when constructed (a replay constructs one per schedule).
  typedef int no_message_queue;

  // States. Their ids follow table order and are never stored: ScheduleState is.
  struct None : msm::front::state<> {};
  struct Proposed : msm::front::state<> {};
  struct Confirmed : msm::front::state<> {};
  struct Emailed : msm::front::state<> {};
  struct Pending : msm::front::state<> {};
  struct Activated : msm::front::state<> {};
  struct Withdrawn : msm::front::state<> {};
  struct Cancelled : msm::front::state<> {};
  using initial_state = None;

  // Guards
  struct EmailRequested {
    template <class E, class M, class S, class T>
    bool operator()(const E&, M& m, S&, T&) const { return m.facts.email_requested; }
  };
  struct NoEmailRequested {
    template <class E, class M, class S, class T>
    bool operator()(const E&, M& m, S&, T&) const { return !m.facts.email_requested; }
  };
  struct FirstUsageApplies {
    template <class E, class M, class S, class T>
    bool operator()(const E&, M& m, S&, T&) const { return m.facts.first_usage_applies; }
  };

  // clang-format off
  struct transition_table : mpl::vector<
    //   Start      Event       Target     Action  Guard
    Row< None,      Propose,    Proposed,  none,   none              >,
    Row< Proposed,  Confirm,    Confirmed, none,   none              >,
    Row< Proposed,  Decline,    Withdrawn, none,   none              >,
    Row< Confirmed, Queue,      Pending,   none,   NoEmailRequested  >,
    Row< Confirmed, MailSent,   Emailed,   none,   EmailRequested    >,
    Row< Confirmed, MailFailed, Confirmed, none,   EmailRequested    >,
    Row< Confirmed, SkipEmail,  Pending,   none,   EmailRequested    >,
    Row< Emailed,   Queue,      Pending,   none,   none              >,
    Row< Confirmed, Cancel,     Cancelled, none,   none              >,
    Row< Emailed,   Cancel,     Cancelled, none,   none              >,
    Row< Pending,   Cancel,     Cancelled, none,   none              >,
    Row< Pending,   Activate,   Activated, none,   none              >,
    Row< Confirmed, FirstUsage, Activated, none,   FirstUsageApplies >,
    Row< Emailed,   FirstUsage, Activated, none,   FirstUsageApplies >,
    Row< Pending,   FirstUsage, Activated, none,   FirstUsageApplies >
  > {};
  // clang-format on

  // The defaults assert; a refused trigger is an ordinary answer here.
  template <class FSM, class Event>
  void no_transition(const Event&, FSM&, int) {}
  template <class FSM, class Event>
  void exception_caught(const Event&, FSM&, std::exception&) {}

  ScheduleFacts facts;
};

using Backend = msm::back::state_machine<ScheduleDef>;

// Maps MSM's table-order state ids to the stable enum, by the state types themselves.
template <class S>
ScheduleState state_of();
template <> ScheduleState state_of<ScheduleDef::None>() { return ScheduleState::kNone; }
template <> ScheduleState state_of<ScheduleDef::Proposed>() { return ScheduleState::kProposed; }
template <> ScheduleState state_of<ScheduleDef::Confirmed>() { return ScheduleState::kConfirmed; }
template <> ScheduleState state_of<ScheduleDef::Emailed>() { return ScheduleState::kEmailed; }
template <> ScheduleState state_of<ScheduleDef::Pending>() { return ScheduleState::kPending; }
template <> ScheduleState state_of<ScheduleDef::Activated>() { return ScheduleState::kActivated; }
template <> ScheduleState state_of<ScheduleDef::Withdrawn>() { return ScheduleState::kWithdrawn; }
template <> ScheduleState state_of<ScheduleDef::Cancelled>() { return ScheduleState::kCancelled; }

template <class S>
int id_of() {
  return msm::back::get_state_id<Backend::stt, S>::type::value;
}

ScheduleState current(const Backend& m) {
  const int id = m.current_state()[0];
  if (id == id_of<ScheduleDef::None>()) return state_of<ScheduleDef::None>();
  if (id == id_of<ScheduleDef::Proposed>()) return state_of<ScheduleDef::Proposed>();
  if (id == id_of<ScheduleDef::Confirmed>()) return state_of<ScheduleDef::Confirmed>();
  if (id == id_of<ScheduleDef::Emailed>()) return state_of<ScheduleDef::Emailed>();
  if (id == id_of<ScheduleDef::Pending>()) return state_of<ScheduleDef::Pending>();
  if (id == id_of<ScheduleDef::Activated>()) return state_of<ScheduleDef::Activated>();
  if (id == id_of<ScheduleDef::Withdrawn>()) return state_of<ScheduleDef::Withdrawn>();
  return state_of<ScheduleDef::Cancelled>();
}

template <class E>
bool process(Backend& m) {
  return m.process_event(E()) == msm::back::HANDLED_TRUE;
}

bool dispatch(Backend& m, ScheduleTrigger t) {
  switch (t) {
    case ScheduleTrigger::kPropose: return process<Propose>(m);
    case ScheduleTrigger::kConfirm: return process<Confirm>(m);
    case ScheduleTrigger::kDecline: return process<Decline>(m);
    case ScheduleTrigger::kMailSent: return process<MailSent>(m);
    case ScheduleTrigger::kMailFailed: return process<MailFailed>(m);
    case ScheduleTrigger::kSkipEmail: return process<SkipEmail>(m);
    case ScheduleTrigger::kQueue: return process<Queue>(m);
    case ScheduleTrigger::kCancel: return process<Cancel>(m);
    case ScheduleTrigger::kActivate: return process<Activate>(m);
    case ScheduleTrigger::kFirstUsage: return process<FirstUsage>(m);
  }
  return false;
}

}  // namespace

struct ScheduleMachine::Impl {
  Backend machine;
};

ScheduleMachine::ScheduleMachine() : impl_(std::make_unique<Impl>()) { impl_->machine.start(); }
ScheduleMachine::~ScheduleMachine() = default;
ScheduleMachine::ScheduleMachine(ScheduleMachine&&) noexcept = default;
ScheduleMachine& ScheduleMachine::operator=(ScheduleMachine&&) noexcept = default;

void ScheduleMachine::set_facts(const ScheduleFacts& facts) { impl_->machine.facts = facts; }
const ScheduleFacts& ScheduleMachine::facts() const { return impl_->machine.facts; }

bool ScheduleMachine::fire(ScheduleTrigger trigger) { return dispatch(impl_->machine, trigger); }

ScheduleState ScheduleMachine::state() const { return current(impl_->machine); }

bool ScheduleMachine::accepts(ScheduleTrigger trigger) const {
  // Try the trigger on a copy, so asking never changes this machine. Assignment, not copy
  // construction: Boost 1.74's MSM copy constructor restarts the copy in its initial state.
  Backend probe;
  probe = impl_->machine;
  return dispatch(probe, trigger);
}

const char* to_string(ScheduleState s) {
  switch (s) {
    case ScheduleState::kNone: return "none";
    case ScheduleState::kProposed: return "proposed";
    case ScheduleState::kConfirmed: return "confirmed";
    case ScheduleState::kEmailed: return "emailed";
    case ScheduleState::kPending: return "pending";
    case ScheduleState::kActivated: return "activated";
    case ScheduleState::kWithdrawn: return "withdrawn";
    case ScheduleState::kCancelled: return "cancelled";
  }
  return "unknown";
}

const char* to_string(ScheduleTrigger t) {
  switch (t) {
    case ScheduleTrigger::kPropose: return "propose";
    case ScheduleTrigger::kConfirm: return "confirm";
    case ScheduleTrigger::kDecline: return "decline";
    case ScheduleTrigger::kMailSent: return "mail-sent";
    case ScheduleTrigger::kMailFailed: return "mail-failed";
    case ScheduleTrigger::kSkipEmail: return "skip-email";
    case ScheduleTrigger::kQueue: return "queue";
    case ScheduleTrigger::kCancel: return "cancel";
    case ScheduleTrigger::kActivate: return "activate";
    case ScheduleTrigger::kFirstUsage: return "first-usage";
  }
  return "unknown";
}

}  // namespace certsched::statemachines
