// Every transition and every refused transition of both machines, checked against a table
// written here from PRODUCT.md, independently of the machines' own tables.
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "statemachines/listener_machine.h"
#include "statemachines/schedule_machine.h"
#include "tests/product_rules.h"

namespace certsched::statemachines {
namespace {

using S = ScheduleState;
using T = ScheduleTrigger;
using testing::product_rule;

// Drives a fresh machine to `target`, or returns nullopt when the facts make it unreachable.
std::optional<ScheduleMachine> reach(S target, const ScheduleFacts& f) {
  ScheduleMachine m;
  m.set_facts(f);
  auto go = [&](std::initializer_list<T> path) {
    for (T t : path) {
      if (!m.fire(t)) return false;
    }
    return true;
  };
  bool ok = true;
  switch (target) {
    case S::kNone: break;
    case S::kProposed: ok = go({T::kPropose}); break;
    case S::kConfirmed: ok = go({T::kPropose, T::kConfirm}); break;
    case S::kEmailed: ok = f.email_requested && go({T::kPropose, T::kConfirm, T::kMailSent}); break;
    case S::kPending:
      ok = f.email_requested ? go({T::kPropose, T::kConfirm, T::kMailSent, T::kQueue})
                             : go({T::kPropose, T::kConfirm, T::kQueue});
      break;
    case S::kActivated:
      ok = f.email_requested ? go({T::kPropose, T::kConfirm, T::kSkipEmail, T::kActivate})
                             : go({T::kPropose, T::kConfirm, T::kQueue, T::kActivate});
      break;
    case S::kWithdrawn: ok = go({T::kPropose, T::kDecline}); break;
    case S::kCancelled: ok = go({T::kPropose, T::kConfirm, T::kCancel}); break;
  }
  if (!ok) return std::nullopt;
  EXPECT_EQ(m.state(), target);
  return m;
}

TEST(ScheduleMachineTest, EveryTriggerFromEveryStateFollowsTheProductRules) {
  int accepted = 0, refused = 0;
  for (bool email : {false, true}) {
    for (bool first_usage : {false, true}) {
      const ScheduleFacts facts{email, first_usage};
      for (int si = 0; si <= static_cast<int>(S::kCancelled); ++si) {
        for (int ti = 0; ti <= static_cast<int>(T::kFirstUsage); ++ti) {
          const S from = static_cast<S>(si);
          const T t = static_cast<T>(ti);
          auto m = reach(from, facts);
          if (!m) continue;
          SCOPED_TRACE(std::string(to_string(from)) + " --" + to_string(t) + "--> email=" +
                       std::to_string(email) + " first_usage=" + std::to_string(first_usage));
          const auto expected = product_rule(from, t, facts);
          EXPECT_EQ(m->accepts(t), expected.has_value());
          EXPECT_EQ(m->state(), from);  // asking does not change it
          const bool fired = m->fire(t);
          EXPECT_EQ(fired, expected.has_value());
          EXPECT_EQ(m->state(), expected.value_or(from));  // a refusal changes nothing
          (fired ? accepted : refused)++;
        }
      }
    }
  }
  EXPECT_GT(accepted, 30);
  EXPECT_GT(refused, 150);
}

TEST(ScheduleMachineTest, FinalStatesAcceptNothing) {
  for (S final_state : {S::kActivated, S::kWithdrawn, S::kCancelled}) {
    auto m = reach(final_state, {true, true});
    ASSERT_TRUE(m);
    for (int ti = 0; ti <= static_cast<int>(T::kFirstUsage); ++ti) {
      EXPECT_FALSE(m->fire(static_cast<T>(ti))) << to_string(final_state);
    }
    EXPECT_FALSE(is_open(final_state));
  }
  for (S open : {S::kProposed, S::kConfirmed, S::kEmailed, S::kPending}) EXPECT_TRUE(is_open(open));
}

TEST(ScheduleMachineTest, MailFailuresKeepTheScheduleConfirmedUntilSentOrSkipped) {
  auto m = reach(S::kConfirmed, {true, false});
  ASSERT_TRUE(m);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(m->fire(T::kMailFailed));
  EXPECT_EQ(m->state(), S::kConfirmed);
  EXPECT_FALSE(m->fire(T::kActivate));  // never activates without the mail
  EXPECT_FALSE(m->fire(T::kQueue));
  ASSERT_TRUE(m->fire(T::kMailSent));
  EXPECT_EQ(m->state(), S::kEmailed);
}

using LS = ListenerState;
using LT = ListenerTrigger;

std::optional<LS> listener_rule(LS from, LT t, const ListenerFacts& f) {
  switch (t) {
    case LT::kConfigure:
      if (from == LS::kChangePending) return f.keeps_certificate ? std::optional(LS::kChangePending) : std::nullopt;
      return LS::kActive;
    case LT::kProposeChange:
      if (from == LS::kActive) return LS::kChangePending;
      return from == LS::kChangePending && f.same_pending_certificate ? std::optional(LS::kChangePending) : std::nullopt;
    case LT::kWithdrawChange: return from == LS::kChangePending ? std::optional(LS::kActive) : std::nullopt;
    case LT::kInstall: return from == LS::kChangePending && f.all_partners_ready ? std::optional(LS::kActive) : std::nullopt;
    case LT::kInstallFailed: return from == LS::kChangePending ? std::optional(LS::kChangePending) : std::nullopt;
  }
  return std::nullopt;
}

TEST(ListenerMachineTest, EveryTriggerFromEveryStateFollowsTheProductRules) {
  int checked = 0;
  for (int fi = 0; fi < 8; ++fi) {
    const ListenerFacts facts{(fi & 1) != 0, (fi & 2) != 0, (fi & 4) != 0};
    for (LS from : {LS::kUnconfigured, LS::kActive, LS::kChangePending}) {
      for (int ti = 0; ti <= static_cast<int>(LT::kInstallFailed); ++ti) {
        ListenerMachine m;
        if (from != LS::kUnconfigured) {
          ASSERT_TRUE(m.fire(LT::kConfigure, {}));
        }
        if (from == LS::kChangePending) {
          ASSERT_TRUE(m.fire(LT::kProposeChange, {}));
        }
        ASSERT_EQ(m.state(), from);
        const LT t = static_cast<LT>(ti);
        SCOPED_TRACE(std::string(to_string(from)) + " --" + to_string(t) + "--> facts " + std::to_string(fi));
        const auto expected = listener_rule(from, t, facts);
        EXPECT_EQ(m.accepts(t, facts), expected.has_value());
        EXPECT_EQ(m.fire(t, facts), expected.has_value());
        EXPECT_EQ(m.state(), expected.value_or(from));
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 8 * 3 * 5);
}

}  // namespace
}  // namespace certsched::statemachines
