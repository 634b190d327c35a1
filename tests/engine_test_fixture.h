// The engine's tests' fixture: a store with openssl-made certificates and partners
// (EngineFixture), plus proposals, states and refusals in a line each.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/engine_fixture.h"

namespace certsched::domain {

using statemachines::ScheduleState;

class EngineTest : public testing::EngineFixture {
 protected:
  ProposeCommand proposal(std::vector<std::string> partners, std::vector<std::pair<Role, std::string>> roles,
                          std::optional<int64_t> at) {
    ProposeCommand c;
    c.partners = std::move(partners);
    c.roles = std::move(roles);
    c.activate_at_ns = at;
    c.password = "pw";
    return c;
  }
  ScheduleState state_of(const std::string& schedule) { return state().schedule(schedule)->state(); }
  std::string current(const std::string& partner, Role r) {
    const auto& c = state().partner(partner)->current[static_cast<size_t>(r)];
    return c ? c->alias : "";
  }
  // Expects the command to be refused with nothing appended, and returns its message.
  template <class F>
  std::string refused(F&& command) {
    const auto before = head();
    auto r = command();
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(head().position, before.position) << "a refused command appended events";
    EXPECT_EQ(head().hash_hex, before.hash_hex);
    return r.ok() ? "" : r.status().message();
  }
};

}  // namespace certsched::domain
