// Boost.MSM implementation of the listener machine (see listener_machine.h). C++17.
#include "statemachines/listener_machine.h"

#include <boost/msm/back/state_machine.hpp>
#include <boost/msm/front/functor_row.hpp>
#include <boost/msm/front/state_machine_def.hpp>

namespace certsched::statemachines {
namespace {

namespace msm = boost::msm;
namespace mpl = boost::mpl;
using msm::front::none;
using msm::front::Row;

// Each event carries the facts its guard reads.
struct Configure { ListenerFacts facts; };
struct ProposeChange { ListenerFacts facts; };
struct WithdrawChange { ListenerFacts facts; };
struct Install { ListenerFacts facts; };
struct InstallFailed { ListenerFacts facts; };

struct ListenerDef : msm::front::state_machine_def<ListenerDef> {
  typedef int no_message_queue;  // no action posts an event (see schedule_machine.cc)

  struct Unconfigured : msm::front::state<> {};
  struct Active : msm::front::state<> {};
  struct ChangePending : msm::front::state<> {};
  using initial_state = Unconfigured;

  struct KeepsCertificate {
    template <class E, class M, class S, class T>
    bool operator()(const E& e, M&, S&, T&) const { return e.facts.keeps_certificate; }
  };
  struct SamePendingCertificate {
    template <class E, class M, class S, class T>
    bool operator()(const E& e, M&, S&, T&) const { return e.facts.same_pending_certificate; }
  };
  struct AllPartnersReady {
    template <class E, class M, class S, class T>
    bool operator()(const E& e, M&, S&, T&) const { return e.facts.all_partners_ready; }
  };

  // clang-format off
  struct transition_table : mpl::vector<
    //   Start          Event           Target         Action  Guard
    Row< Unconfigured,  Configure,      Active,        none,   none                   >,
    Row< Active,        Configure,      Active,        none,   none                   >,
    Row< ChangePending, Configure,      ChangePending, none,   KeepsCertificate       >,
    Row< Active,        ProposeChange,  ChangePending, none,   none                   >,
    Row< ChangePending, ProposeChange,  ChangePending, none,   SamePendingCertificate >,
    Row< ChangePending, WithdrawChange, Active,        none,   none                   >,
    Row< ChangePending, Install,        Active,        none,   AllPartnersReady       >,
    Row< ChangePending, InstallFailed,  ChangePending, none,   none                   >
  > {};
  // clang-format on

  template <class FSM, class Event>
  void no_transition(const Event&, FSM&, int) {}
  template <class FSM, class Event>
  void exception_caught(const Event&, FSM&, std::exception&) {}
};

using Backend = msm::back::state_machine<ListenerDef>;

template <class S>
int id_of() {
  return msm::back::get_state_id<Backend::stt, S>::type::value;
}

template <class E>
bool process(Backend& m, const ListenerFacts& facts) {
  return m.process_event(E{facts}) == msm::back::HANDLED_TRUE;
}

bool dispatch(Backend& m, ListenerTrigger t, const ListenerFacts& f) {
  switch (t) {
    case ListenerTrigger::kConfigure: return process<Configure>(m, f);
    case ListenerTrigger::kProposeChange: return process<ProposeChange>(m, f);
    case ListenerTrigger::kWithdrawChange: return process<WithdrawChange>(m, f);
    case ListenerTrigger::kInstall: return process<Install>(m, f);
    case ListenerTrigger::kInstallFailed: return process<InstallFailed>(m, f);
  }
  return false;
}

}  // namespace

struct ListenerMachine::Impl {
  Backend machine;
};

ListenerMachine::ListenerMachine() : impl_(std::make_unique<Impl>()) { impl_->machine.start(); }
ListenerMachine::~ListenerMachine() = default;
ListenerMachine::ListenerMachine(ListenerMachine&&) noexcept = default;
ListenerMachine& ListenerMachine::operator=(ListenerMachine&&) noexcept = default;

bool ListenerMachine::fire(ListenerTrigger t, const ListenerFacts& f) {
  return dispatch(impl_->machine, t, f);
}

bool ListenerMachine::accepts(ListenerTrigger t, const ListenerFacts& f) const {
  // Assignment, not copy construction: Boost 1.74's MSM copy constructor restarts the copy
  // in the initial state, assignment copies the current one.
  Backend probe;
  probe = impl_->machine;
  return dispatch(probe, t, f);
}

ListenerState ListenerMachine::state() const {
  const int id = impl_->machine.current_state()[0];
  if (id == id_of<ListenerDef::Active>()) return ListenerState::kActive;
  if (id == id_of<ListenerDef::ChangePending>()) return ListenerState::kChangePending;
  return ListenerState::kUnconfigured;
}

const char* to_string(ListenerState s) {
  switch (s) {
    case ListenerState::kUnconfigured: return "unconfigured";
    case ListenerState::kActive: return "active";
    case ListenerState::kChangePending: return "change-pending";
  }
  return "unknown";
}

const char* to_string(ListenerTrigger t) {
  switch (t) {
    case ListenerTrigger::kConfigure: return "configure";
    case ListenerTrigger::kProposeChange: return "propose-change";
    case ListenerTrigger::kWithdrawChange: return "withdraw-change";
    case ListenerTrigger::kInstall: return "install";
    case ListenerTrigger::kInstallFailed: return "install-failed";
  }
  return "unknown";
}

}  // namespace certsched::statemachines
