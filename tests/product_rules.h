// The schedule transitions of PRODUCT.md, written out independently of the machine's own
// table, so tests can check the machine (and whole logs) against the product rules.
#pragma once

#include <optional>

#include "statemachines/schedule_machine.h"

namespace certsched::testing {

using statemachines::ScheduleFacts;

inline std::optional<statemachines::ScheduleState> product_rule(statemachines::ScheduleState from,
                                                                statemachines::ScheduleTrigger t,
                                                                const ScheduleFacts& f) {
  using S = statemachines::ScheduleState;
  using T = statemachines::ScheduleTrigger;
  const bool confirmed_like = from == S::kConfirmed || from == S::kEmailed || from == S::kPending;
  switch (t) {
    case T::kPropose: return from == S::kNone ? std::optional(S::kProposed) : std::nullopt;
    case T::kConfirm: return from == S::kProposed ? std::optional(S::kConfirmed) : std::nullopt;
    case T::kDecline: return from == S::kProposed ? std::optional(S::kWithdrawn) : std::nullopt;
    case T::kMailSent: return from == S::kConfirmed && f.email_requested ? std::optional(S::kEmailed) : std::nullopt;
    case T::kMailFailed: return from == S::kConfirmed && f.email_requested ? std::optional(S::kConfirmed) : std::nullopt;
    case T::kSkipEmail: return from == S::kConfirmed && f.email_requested ? std::optional(S::kPending) : std::nullopt;
    case T::kQueue:
      if (from == S::kEmailed) return S::kPending;
      return from == S::kConfirmed && !f.email_requested ? std::optional(S::kPending) : std::nullopt;
    case T::kCancel: return confirmed_like ? std::optional(S::kCancelled) : std::nullopt;
    case T::kActivate: return from == S::kPending ? std::optional(S::kActivated) : std::nullopt;
    case T::kFirstUsage: return confirmed_like && f.first_usage_applies ? std::optional(S::kActivated) : std::nullopt;
  }
  return std::nullopt;
}

}  // namespace certsched::testing
