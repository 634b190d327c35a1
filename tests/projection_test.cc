// Persisted projections: rebuilt from position 0 they equal the live ones; after the
// projection writer stops while the log goes on, they resume from their checkpoints
// without applying an event twice or skipping one; the due index is time-ordered.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "domain/instant.h"
#include "projections/json_text.h"
#include "projections/json_writer.h"
#include "projections/notification_outbox.h"
#include "projections/projection_store.h"
#include "projections/views.h"
#include "tests/engine_fixture.h"

namespace certsched {
namespace {

using domain::Role;

class ProjectionTest : public testing::EngineFixture {
 protected:
  std::vector<domain::EventObserver*> observers() override {
    if (!projections_) projections_ = projections::ProjectionStore::open(store_dir_->path(), false, &outbox_).value();
    return {&outbox_, projections_.get()};
  }
  void TearDown() override {
    engine_.reset();
    projections_.reset();
    EngineFixture::TearDown();
  }
  void scenario_part_one() {
    domain::ProposeCommand c;
    c.partners = {"acme", "globex"};
    c.roles = {{Role::kLocalSigning, "sign-new"}, {Role::kLocalSslServer, "srv-new"}};
    c.activate_at_ns = now_ + kHour;
    c.password = "pw";
    auto p = engine_->propose(c, ctx());
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    ASSERT_TRUE(engine_->confirm(p->proposal_id, ctx()).ok());
    c.partners = {"initech"};
    c.roles = {{Role::kLocalSigning, "sign-new"}};
    c.activate_at_ns = now_ + 2 * kHour;
    auto declined = engine_->propose(c, ctx());
    ASSERT_TRUE(declined.ok());
    ASSERT_TRUE(engine_->decline(declined->proposal_id, ctx()).ok());
  }
  void scenario_part_two() {
    ASSERT_TRUE(engine_->activate_due(ctx(now_ + kHour)).ok());
    testing::RecordingInstaller installer;
    ASSERT_TRUE(engine_->install_listener(domain::Listener::kHTTP, installer, ctx(now_ + kHour)).ok());
    domain::ProposeCommand c;
    c.partners = {"umbrella"};
    c.roles = {{Role::kLocalSigning, "sign-new"}};
    c.activate_at_ns = now_ + 3 * kHour;
    c.password = "pw";
    auto p = engine_->propose(c, ctx());
    ASSERT_TRUE(p.ok());
    ASSERT_TRUE(engine_->confirm(p->proposal_id, ctx()).ok());
  }
  std::string live_dump() {
    EXPECT_TRUE(engine_->state().ok());  // catches up and flushes the projections
    return projections_->dump().value();
  }
  std::string rebuilt_dump() {
    testing::TempDir other;
    std::filesystem::copy(store_dir_->path() + "/events", other.sub("events"));
    auto store = testing::open_reader(other.path());
    projections::NotificationOutbox outbox;
    auto fresh = projections::ProjectionStore::open(other.path(), false, &outbox).value();
    auto engine = domain::Engine::open(*store, other.path(), {&outbox, fresh.get()}).value();
    EXPECT_TRUE(engine->state().ok());
    return fresh->dump().value();
  }

  projections::NotificationOutbox outbox_;
  std::unique_ptr<projections::ProjectionStore> projections_;
};

TEST_F(ProjectionTest, RebuildingFromZeroEqualsTheLiveProjections) {
  scenario_part_one();
  scenario_part_two();
  const std::string live = live_dump();
  EXPECT_NE(live.find("== partners @" + std::to_string(head().position)), std::string::npos) << live;
  EXPECT_NE(live.find("\"alias\":\"srv-new\""), std::string::npos);
  // The admin is owed mail for the activations and the install (no SMTP server took it yet).
  EXPECT_NE(live.find("activated/S1 = "), std::string::npos) << live;
  EXPECT_NE(live.find("installed/HTTP/"), std::string::npos) << live;
  EXPECT_EQ(rebuilt_dump(), live);
}

// A rebuild flushes its rows at the end, in several chunks, each built on a second core
// while the one before is written: the result is still what the live projections hold.
TEST_F(ProjectionTest, ALongRebuildWrittenInChunksEqualsTheLiveProjections) {
  scenario_part_one();
  std::vector<std::string> bulk;
  for (int i = 0; i < 6000; ++i) {
    domain::AddPartnerCommand c;
    c.id = "bulk" + std::to_string(i);
    c.email = c.id + "@example.com";
    c.certificates = {{Role::kLocalSigning, "sign-old"}};
    ASSERT_TRUE(engine_->add_partner(c, ctx()).ok());
    bulk.push_back(c.id);
  }
  domain::ProposeCommand c;
  c.partners = bulk;
  c.roles = {{Role::kLocalSigning, "sign-new"}};
  c.activate_at_ns = now_ + 2 * kHour;
  c.password = "pw";
  auto p = engine_->propose(c, ctx());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE(engine_->confirm(p->proposal_id, ctx()).ok());
  scenario_part_two();
  const std::string live = live_dump();
  ASSERT_GT(live.size(), size_t{5} << 20);  // more than one chunk (4 MiB) of rows
  EXPECT_NE(live.find("bulk5999"), std::string::npos);
  EXPECT_EQ(rebuilt_dump(), live);
}

TEST_F(ProjectionTest, ViewsAreTheTextNlohmannMakesOfThem) {
  // The projections write views with JsonWriter; the CLI and rows written before it were
  // nlohmann's dumps. Parsing and dumping again must give the same bytes: keys in sorted
  // order, the same escapes.
  size_t schedules = 0;
  bool saw_history = false, saw_pending = false, saw_reason = false;
  auto check_every_view = [&] {
    const domain::DomainState& s = state();
    for (const auto& id : s.schedule_ids()) {
      const std::string text = projections::schedule_text(*s.schedule(id));
      EXPECT_EQ(json_text(nlohmann::json::parse(text)), text);
      saw_reason |= text.find("\"reason\":\"replaced") != std::string::npos;
      ++schedules;
    }
    for (const auto& [id, p] : s.partners()) {
      const std::string text = projections::partner_text(s, p);
      EXPECT_EQ(json_text(nlohmann::json::parse(text)), text);
      saw_history |= !p.history.empty();
      saw_pending |= text.find("\"pending\":{}") == std::string::npos;
    }
  };
  scenario_part_one();
  scenario_part_two();
  check_every_view();
  ASSERT_TRUE(engine_->cancel("S6", "replaced \"by\" another\\one", ctx()).ok());
  check_every_view();
  EXPECT_EQ(schedules, 12u);
  EXPECT_TRUE(saw_history);
  EXPECT_TRUE(saw_pending);
  EXPECT_TRUE(saw_reason);
}

TEST(JsonWriterTest, WritesWhatNlohmannDumps) {
  for (const std::string& text : {std::string(), std::string("plain"), std::string("quote\" back\\slash /"),
                                 std::string("ctl \x01\x1f\b\f\n\r\t\x7f"), std::string("\0nul", 4),
                                 std::string("caf\xc3\xa9 \xe4\xb8\xad"), std::string("bad \xb8 utf-8 \xc3"),
                                 std::string("escaped\n\"first\", then caf\xc3\xa9")}) {
    projections::JsonWriter w;
    EXPECT_EQ(w.value(text).take(), json_text(nlohmann::json(text))) << text;
  }
  projections::JsonWriter w;
  w.begin_object().key("a").begin_array().value(uint64_t{18446744073709551615u}).value(true).null().value("x");
  w.begin_object().end_object().end_array().field("b", false).key("c").begin_object().end_object().end_object();
  const std::string text = w.take();
  EXPECT_EQ(text, R"({"a":[18446744073709551615,true,null,"x",{}],"b":false,"c":{}})");
  EXPECT_EQ(json_text(nlohmann::json::parse(text)), text);
  projections::JsonWriter after_key;
  after_key.begin_object().field("a", "x").field("b", "tab\tcaf\xc3\xa9").end_object();
  EXPECT_EQ(after_key.take(), json_text(nlohmann::json{{"a", "x"}, {"b", "tab\tcaf\xc3\xa9"}}));
}

TEST_F(ProjectionTest, ResumesFromItsCheckpointWithoutReapplyingOrSkipping) {
  scenario_part_one();
  const uint64_t covered = head().position;
  ASSERT_TRUE(engine_->state().ok());
  EXPECT_EQ(projections_->checkpoint("partners").value(), covered);

  // The projection writer goes away while the log goes on.
  engine_.reset();
  projections_.reset();
  projections::NotificationOutbox detached;
  engine_ = domain::Engine::open(*store_, store_dir_->path(), {&detached}).value();
  scenario_part_two();
  const uint64_t head_now = head().position;
  ASSERT_GT(head_now, covered);

  // Back with projections: only the events after the checkpoint are applied.
  engine_.reset();
  projections::NotificationOutbox outbox;
  projections_ = projections::ProjectionStore::open(store_dir_->path(), false, &outbox).value();
  EXPECT_EQ(projections_->checkpoint("schedules").value(), covered);
  engine_ = domain::Engine::open(*store_, store_dir_->path(), {&outbox, projections_.get()}).value();
  const std::string resumed = live_dump();
  EXPECT_EQ(projections_->applied_events(), head_now - covered);
  for (const auto& name : projections::kProjections) EXPECT_EQ(projections_->checkpoint(name).value(), head_now) << name;
  EXPECT_EQ(resumed, rebuilt_dump());
}

// Each partner mail has one outbox row while it is owed. The row names every schedule the
// mail carries, and leaves when the last of them no longer waits for it.
TEST_F(ProjectionTest, OutboxRowsFollowEachPartnerMail) {
  domain::ProposeCommand c;
  c.partners = {"acme", "globex"};
  c.roles = {{Role::kLocalSigning, "sign-new"}, {Role::kLocalSslServer, "srv-new"}};
  c.activate_at_ns = now_ + kHour;
  c.password = "pw";
  c.email_partners = true;
  auto p = engine_->propose(c, ctx());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE(engine_->confirm(p->proposal_id, ctx()).ok());
  std::map<std::string, std::vector<std::string>> schedules_of;  // partner -> its schedules
  for (const auto& id : state().schedule_ids()) schedules_of[state().schedule(id)->proposed.partner].push_back(id);
  const std::string mail_to = "partner-mail/" + p->proposal_id + "/";

  // The partner mail rows, as partner -> the schedules they name.
  auto partner_rows = [&] {
    EXPECT_TRUE(engine_->state().ok());  // flushes the projections
    std::map<std::string, std::vector<std::string>> rows;
    for (const auto& [id, text] : projections_->scan("outbox").value()) {
      if (id.rfind(mail_to, 0) != 0) continue;
      const auto row = nlohmann::json::parse(text);
      EXPECT_EQ(row["since"], domain::format_instant(now_)) << text;
      rows[id.substr(mail_to.size())] = row["schedules"].get<std::vector<std::string>>();
    }
    return rows;
  };
  EXPECT_EQ(partner_rows(), schedules_of);

  // acme's mail is sent (recorded for each of its schedules); one of globex's schedules
  // skips the mail, so globex is still owed it for the other.
  const auto& acme = schedules_of["acme"];
  const auto& globex = schedules_of["globex"];
  ASSERT_TRUE(engine_->record_mail_sent(acme[0], "<m1@certsched>", ctx()).ok());
  EXPECT_EQ(partner_rows(), schedules_of);
  ASSERT_TRUE(engine_->record_mail_sent(acme[1], "<m1@certsched>", ctx()).ok());
  ASSERT_TRUE(engine_->skip_email(globex[0], "phoned them", ctx()).ok());
  EXPECT_EQ(partner_rows(), (std::map<std::string, std::vector<std::string>>{{"globex", globex}}));
  EXPECT_EQ(rebuilt_dump(), live_dump());

  ASSERT_TRUE(engine_->cancel(globex[1], "partner left", ctx()).ok());
  EXPECT_TRUE(partner_rows().empty());
  EXPECT_EQ(rebuilt_dump(), live_dump());
}

TEST_F(ProjectionTest, DueActivationsAreOrderedByTimeAndLeaveWhenDone) {
  scenario_part_one();
  ASSERT_TRUE(engine_->state().ok());
  auto due = projections_->scan("due").value();
  ASSERT_EQ(due.size(), 4u);  // acme and globex, signing and server certificate
  for (size_t i = 1; i < due.size(); ++i) EXPECT_LE(due[i - 1].first, due[i].first);
  scenario_part_two();
  ASSERT_TRUE(engine_->state().ok());
  due = projections_->scan("due").value();
  ASSERT_EQ(due.size(), 1u);  // only umbrella's, at +3h
  EXPECT_EQ(due[0].second, state().schedule_ids().back());
}

}  // namespace
}  // namespace certsched
