// Long random command sequences against the engine. After every command: a refused
// command appended nothing, at most one schedule is open per partner and role, and every
// schedule's recorded history is a path the product rules allow. Now and then, and at
// the end, a state rebuilt from the log alone equals the live one.
#include <gtest/gtest.h>

#include <random>

#include "domain/event_codec.h"
#include "tests/engine_fixture.h"
#include "tests/product_rules.h"

namespace certsched::domain {
namespace {

using statemachines::ScheduleState;
using statemachines::ScheduleTrigger;

class EngineRandomTest : public testing::EngineFixture {
 protected:
  void check_invariants() {
    const DomainState& s = state();
    std::map<std::pair<std::string, uint8_t>, int> open;
    for (const auto& id : s.schedule_ids()) {
      const ScheduleRecord* r = s.schedule(id);
      if (statemachines::is_open(r->state())) {
        const auto key = std::make_pair(r->proposed.partner, r->proposed.role);
        ASSERT_EQ(++open[key], 1) << "two open schedules, the second " << id;
      }
      if (r->state() == ScheduleState::kActivated) {
        ASSERT_TRUE(r->activation_cause.has_value());
      }
    }
    for (uint8_t li = 0; li < kListenerCount; ++li) {
      const ListenerRecord* l = s.listener(static_cast<Listener>(li));
      if (!l || !l->pending) continue;
      bool named = false;
      for (const auto& id : s.schedule_ids()) {
        const ScheduleRecord* r = s.schedule(id);
        named |= statemachines::is_open(r->state()) && r->role() == Role::kLocalSslServer &&
                 r->proposed.fingerprint == l->pending->fingerprint;
      }
      ASSERT_TRUE(named) << "listener pending on a certificate no open schedule names";
    }
  }

  // Every schedule stream, read from the log, is a path the product rules allow.
  void check_histories_against_product_rules() {
    std::map<std::string, std::pair<ScheduleState, testing::ScheduleFacts>> at;
    uint64_t next = 1;
    for (;;) {
      auto batch = store_->read_all(next, 4096).value();
      if (batch.empty()) break;
      next = batch.back().position + 1;
      for (const auto& rec : batch) {
        if (!stream_id(rec.stream, StreamKind::kSchedule)) continue;
        const Event e = decode_event(rec).value();
        ScheduleTrigger t;
        if (const auto* p = std::get_if<ScheduleProposed>(&e)) {
          at[rec.stream] = {ScheduleState::kNone, {p->email_partner != 0, p->first_usage != 0}};
          t = ScheduleTrigger::kPropose;
        } else if (std::holds_alternative<ScheduleConfirmed>(e)) t = ScheduleTrigger::kConfirm;
        else if (std::holds_alternative<ScheduleDeclined>(e)) t = ScheduleTrigger::kDecline;
        else if (std::holds_alternative<ScheduleQueued>(e)) t = ScheduleTrigger::kQueue;
        else if (std::holds_alternative<PartnerMailSent>(e)) t = ScheduleTrigger::kMailSent;
        else if (std::holds_alternative<PartnerMailFailed>(e)) t = ScheduleTrigger::kMailFailed;
        else if (std::holds_alternative<EmailSkipped>(e)) t = ScheduleTrigger::kSkipEmail;
        else if (std::holds_alternative<ScheduleCancelled>(e)) t = ScheduleTrigger::kCancel;
        else {
          const auto& a = std::get<ScheduleActivated>(e);
          t = a.cause == static_cast<uint8_t>(ActivationCause::kFirstUsage) ? ScheduleTrigger::kFirstUsage
                                                                            : ScheduleTrigger::kActivate;
        }
        auto& [state, facts] = at[rec.stream];
        const auto to = testing::product_rule(state, t, facts);
        ASSERT_TRUE(to.has_value()) << rec.stream << " v" << rec.stream_version << ": " << rec.type
                                    << " from " << statemachines::to_string(state);
        state = *to;
      }
    }
  }

  void run(uint32_t seed, int steps) {
    std::mt19937 rng(seed);
    auto pick = [&](auto& v) -> const auto& { return v[rng() % v.size()]; };
    const std::vector<std::string> partners{"acme", "globex", "initech", "umbrella"};
    const std::vector<std::pair<Role, std::vector<std::string>>> roles{
        {Role::kLocalSigning, {"sign-old", "sign-new", "sign-only"}},
        {Role::kLocalEncryption, {"enc-new", "sign-new"}},
        {Role::kLocalSslServer, {"srv-old", "srv-new", "srv-other"}},
        {Role::kLocalSslClient, {"client-old", "client-new"}},
        {Role::kPartnerSigning, {"psign-old", "psign-new"}},
    };
    const std::vector<std::string> fingerprints{fp("enc-new"), fp("psign-new"), fp("psign-old"), fp("sign-new")};
    int64_t clock = now_;
    int applied = 0, refusals = 0;
    testing::RecordingInstaller installer;
    for (int step = 0; step < steps; ++step) {
      clock += static_cast<int64_t>(rng() % 600) * 1'000'000'000;
      const auto before = head();
      const auto& ids = state().schedule_ids();
      const std::string some_schedule = ids.empty() ? "S1" : ids[rng() % ids.size()];
      const std::string some_proposal = "P" + std::to_string(1 + rng() % (state().proposal_count() + 1));
      Result<CommandResult> r = Status::InvalidArgument("no command");
      switch (rng() % 10) {
        case 0:
        case 1: {
          ProposeCommand c;
          for (const auto& p : partners) {
            if (rng() % 3 == 0) c.partners.push_back(p);
          }
          if (c.partners.empty()) c.partners.push_back(pick(partners));
          const auto& [role, aliases] = pick(roles);
          c.roles.push_back({role, pick(aliases)});
          if (rng() % 4 == 0) c.activate_at_ns = clock + static_cast<int64_t>(rng() % 7200) * 1'000'000'000;
          c.password = rng() % 8 ? "pw" : "bad";
          c.email_partners = rng() % 3 == 0;
          c.force_ssl_client = rng() % 2;
          c.force_ssl_server = rng() % 4 == 0;
          c.use_signing_for_encryption = rng() % 5 == 0;
          r = engine_->propose(c, ctx(clock));
          break;
        }
        case 2: r = engine_->confirm(some_proposal, ctx(clock)); break;
        case 3: r = engine_->decline(some_proposal, ctx(clock)); break;
        case 4: r = engine_->cancel(some_schedule, rng() % 5 ? "random cancel" : "", ctx(clock)); break;
        case 5:
          r = rng() % 2 ? engine_->record_mail_sent(some_schedule, "<m@x>", ctx(clock))
                        : engine_->record_mail_failed(some_schedule, "refused", ctx(clock));
          break;
        case 6: r = engine_->skip_email(some_schedule, "by hand", ctx(clock)); break;
        case 7: r = engine_->activate_due(ctx(clock)); break;
        case 8: r = engine_->observe_first_usage(pick(partners), {pick(fingerprints)}, ctx(clock)); break;
        case 9:
          installer.fail_with = rng() % 4 == 0 ? "reload failed" : "";
          r = engine_->install_listener(Listener::kHTTP, installer, ctx(clock));
          break;
      }
      if (r.ok()) {
        ++applied;
      } else {
        ++refusals;
        // Refused means nothing appended; only a failed install records its failure.
        if (!r.status().IsIOError()) {
          ASSERT_EQ(head().position, before.position) << "step " << step << ": " << r.status().ToString();
        }
      }
      check_invariants();
      if (HasFatalFailure()) return;
      if (step % 100 == 99) {
        ASSERT_EQ(testing::describe(*reopen()->state().value()), testing::describe(state()));
      }
    }
    check_histories_against_product_rules();
    ASSERT_EQ(testing::describe(*reopen()->state().value()), testing::describe(state()));
    std::map<std::string, int> by_state;
    for (const auto& id : state().schedule_ids()) by_state[statemachines::to_string(state().schedule(id)->state())]++;
    std::cout << "[ random   ] seed " << seed << ": " << applied << " commands applied, " << refusals
              << " refused, " << head().position << " events; schedules:";
    for (const auto& [name, n] : by_state) std::cout << " " << n << " " << name;
    std::cout << "\n";
    EXPECT_GT(applied, steps / 5);
  }
};

TEST_F(EngineRandomTest, Seed1) { run(1, 1000); }
TEST_F(EngineRandomTest, Seed2) { run(2, 1000); }
TEST_F(EngineRandomTest, RandomSeed) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  run(seed, 1000);
}

}  // namespace
}  // namespace certsched::domain
