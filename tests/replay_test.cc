// Point-in-time answers and compliance reports over several rotations in simulated time,
// checked against what was true at each moment.
#include <gtest/gtest.h>

#include "replay/point_in_time.h"
#include "replay/reports.h"
#include "tests/engine_fixture.h"

namespace certsched {
namespace {

using domain::Role;

class ReplayTest : public testing::EngineFixture {
 protected:
  // Two rotations of acme's signing certificate, at t1 and t2, with decisions by two people.
  void SetUp() override {
    EngineFixture::SetUp();
    t1_ = now_ + 10 * kHour;
    t2_ = now_ + 20 * kHour;
    rotate("acme", "sign-new", t1_, "cli:alice", "cli:bob");
    rotate("acme", "sign-only", t2_, "cli:alice", "api:10.0.0.7");
  }
  void rotate(const std::string& partner, const std::string& alias, int64_t at, const std::string& proposer,
              const std::string& confirmer) {
    domain::ProposeCommand c;
    c.partners = {partner};
    c.roles = {{Role::kLocalSigning, alias}};
    c.activate_at_ns = at;
    c.password = "pw";
    auto propose_ctx = ctx(at - kHour);
    propose_ctx.actor = proposer;
    auto p = engine_->propose(c, propose_ctx);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    auto confirm_ctx = ctx(at - kHour + 1);
    confirm_ctx.actor = confirmer;
    ASSERT_TRUE(engine_->confirm(p->proposal_id, confirm_ctx).ok());
    ASSERT_EQ(engine_->activate_due(ctx(at)).value().schedule_ids.size(), 1u);
  }
  std::string signing_at(int64_t as_of) {
    auto then = replay::state_at(*store_, 0, as_of);
    EXPECT_TRUE(then.ok()) << then.status().ToString();
    const auto& cur = then->state->partner("acme")->current[static_cast<size_t>(Role::kLocalSigning)];
    return cur ? cur->alias : "";
  }
  replay::ReportTable report(const std::string& name, replay::ReportOptions o) {
    auto t = replay::build_report(name, state(), o);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.value();
  }
  static std::map<std::string, std::string> row(const replay::ReportTable& t, size_t i) {
    std::map<std::string, std::string> out;
    for (size_t c = 0; c < t.columns.size(); ++c) out[t.columns[c]] = t.rows.at(i)[c];
    return out;
  }
  int64_t t1_ = 0, t2_ = 0;
};

TEST_F(ReplayTest, WhichCertificateAPartnerUsedAtAnyTime) {
  EXPECT_EQ(signing_at(now_ + 1), "sign-old");
  EXPECT_EQ(signing_at(t1_ - 1), "sign-old");
  EXPECT_EQ(signing_at(t1_), "sign-new");
  EXPECT_EQ(signing_at(t2_ - 1), "sign-new");
  EXPECT_EQ(signing_at(t2_ + kHour), "sign-only");
  // By position: just before the first activation, the pending schedule is visible.
  uint64_t before_activation = 0;
  for (const auto& e : store_->read_all(1, 10000).value()) {
    if (e.type == "ScheduleActivated") {
      before_activation = e.position - 1;
      break;
    }
  }
  auto then = replay::state_at(*store_, before_activation, 0).value();
  EXPECT_EQ(then.position, before_activation);
  EXPECT_EQ(then.state->partner("acme")->current[0]->alias, "sign-old");
  const auto* pending = then.state->open_schedule("acme", Role::kLocalSigning);
  ASSERT_NE(pending, nullptr);
  EXPECT_EQ(pending->proposed.alias, "sign-new");
  EXPECT_EQ(pending->confirmed_by, "cli:bob");  // and who decided it
  EXPECT_TRUE(replay::state_at(*store_, 100000, 0).status().IsInvalidArgument());
}

TEST_F(ReplayTest, HistoryListsEachActivationWithWhoDecided) {
  replay::ReportOptions o;
  o.now_ns = t2_ + kHour;
  auto all = report("history", o);
  ASSERT_EQ(all.rows.size(), 2u);
  EXPECT_EQ(row(all, 0)["alias"], "sign-new");
  EXPECT_EQ(row(all, 0)["previous_alias"], "sign-old");
  EXPECT_EQ(row(all, 0)["proposed_by"], "cli:alice");
  EXPECT_EQ(row(all, 0)["confirmed_by"], "cli:bob");
  EXPECT_EQ(row(all, 0)["cause"], "scheduled time");
  EXPECT_EQ(row(all, 1)["alias"], "sign-only");
  EXPECT_EQ(row(all, 1)["previous_alias"], "sign-new");
  EXPECT_EQ(row(all, 1)["confirmed_by"], "api:10.0.0.7");
  o.from_ns = t1_ + 1;
  auto later = report("history", o);
  ASSERT_EQ(later.rows.size(), 1u);
  EXPECT_EQ(row(later, 0)["alias"], "sign-only");
}

TEST_F(ReplayTest, InventoryExpiringAndBlockers) {
  replay::ReportOptions o;
  o.now_ns = t2_ + kHour;
  // globex's signing certificate gets a replacement scheduled; its SSL server one is blocked.
  domain::ProposeCommand c;
  c.partners = {"globex"};
  c.roles = {{Role::kLocalSigning, "sign-new"}, {Role::kLocalSslServer, "srv-new"}};
  c.activate_at_ns = t2_ + 2 * kHour;
  c.password = "pw";
  ASSERT_TRUE(engine_->propose(c, ctx(t2_)).ok());

  auto inventory = report("inventory", o);
  bool globex_pending = false;
  for (size_t i = 0; i < inventory.rows.size(); ++i) {
    auto r = row(inventory, i);
    if (r["partner"] == "acme" && r["role"] == "local-signing") {
      EXPECT_EQ(r["current_alias"], "sign-only");
      EXPECT_EQ(r["current_fingerprint"], fp("sign-only"));
      EXPECT_EQ(r["pending_alias"], "");
    }
    if (r["partner"] == "globex" && r["role"] == "local-signing") {
      globex_pending = r["pending_alias"] == "sign-new" && r["pending_state"] == "proposed";
    }
  }
  EXPECT_TRUE(globex_pending);

  o.within_days = 400;  // every test certificate expires within a year
  auto expiring = report("expiring", o);
  bool globex_named = false;
  for (size_t i = 0; i < expiring.rows.size(); ++i) {
    auto r = row(expiring, i);
    // Only proposed, so not yet a replacement: listed, with what is proposed.
    if (r["partner"] == "globex" && r["role"] == "local-signing") {
      globex_named = r["replacement"].find("sign-new, proposed (not confirmed)") != std::string::npos;
    }
  }
  EXPECT_TRUE(globex_named);
  bool initech = false;
  for (size_t i = 0; i < expiring.rows.size(); ++i) initech |= row(expiring, i)["partner"] == "initech";
  EXPECT_TRUE(initech);
  o.within_days = 1;
  EXPECT_TRUE(report("expiring", o).rows.empty());

  o.now_ns = t2_ + 3 * kHour;  // globex's schedules are past due but never confirmed
  auto blockers = report("blockers", o);
  bool listener_blocked = false, overdue = false;
  for (size_t i = 0; i < blockers.rows.size(); ++i) {
    auto r = row(blockers, i);
    listener_blocked |= r["kind"] == "listener" && r["partner"] == "acme" && r["reason"].find("no schedule") != std::string::npos;
    overdue |= r["kind"] == "overdue" && r["partner"] == "globex" && r["reason"] == "awaits confirmation";
  }
  EXPECT_TRUE(listener_blocked);
  EXPECT_TRUE(overdue);
}

TEST(ReportFormatTest, CsvQuotesAndDefusesFormulas) {
  replay::ReportTable t{{"a", "b"}, {{"x,y", "=cmd()"}, {"say \"hi\"", "plain"}}};
  EXPECT_EQ(replay::format_csv(t), "a,b\n\"x,y\",'=cmd()\n\"say \"\"hi\"\"\",plain\n");
  EXPECT_NE(replay::format_table(t).find("A"), std::string::npos);
  EXPECT_EQ(replay::format_json(replay::ReportTable{{"k"}, {{"v"}}}), "[\n  {\n    \"k\": \"v\"\n  }\n]\n");
}

}  // namespace
}  // namespace certsched
