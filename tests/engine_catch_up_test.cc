// The engine's catch-up with the log: far behind (read ahead on a second thread), and
// stopping before an event that does not decode or that the state machines refuse.
#include <gtest/gtest.h>

#include "domain/event_codec.h"
#include "tests/engine_test_fixture.h"

namespace certsched::domain {
namespace {


// An engine far behind the log (many batches of 1,024 events) reads and decodes
// ahead on a second thread while it applies. It must end in the live state; and an event
// that does not decode, or that the state refuses, must stop it with every event before it
// applied and none after.
class FarBehindTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    std::vector<std::string> bulk;
    for (int i = 0; i < 2500; ++i) {
      AddPartnerCommand c;
      c.id = "bulk" + std::to_string(i);
      c.email = c.id + "@example.com";
      c.certificates = {{Role::kLocalSigning, "sign-old"}};
      ASSERT_TRUE(engine_->add_partner(c, ctx()).ok());
      bulk.push_back(c.id);
    }
    auto p = engine_->propose(proposal(bulk, {{Role::kLocalSigning, "sign-new"}}, now_ + kHour), ctx());
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    ASSERT_TRUE(engine_->confirm(p->proposal_id, ctx()).ok());
    ASSERT_GT(head().position, 7 * 1024u);
  }
  // Appends `bad` and then a good event after it; reopens the engine and returns how it
  // failed, with `applied` set to the last position it applied.
  Status reopen_after(const std::string& stream, eventstore::NewEvent bad, uint64_t* bad_position, uint64_t* applied) {
    *bad_position = append(stream, std::move(bad));
    PartnerAdded late;
    late.id = "late";
    late.email = "late@example.com";
    append("partner-late", encode_event(late));
    struct LastSeen : EventObserver {
      uint64_t position = 0;
      Status on_event(const eventstore::RecordedEvent& r, const Event&, const DomainState&) override {
        position = r.position;
        return Status::Ok();
      }
    } seen;
    auto reopened = Engine::open(*store_, store_dir_->path(), {&seen});
    *applied = seen.position;
    return reopened.status();
  }
  uint64_t append(const std::string& stream, eventstore::NewEvent event) {
    eventstore::AppendRequest forged;
    forged.writes.push_back({stream, eventstore::ExpectedVersion::Any(), {std::move(event)}});
    forged.command_id = "forged-" + std::to_string(head().position);
    auto appended = store_->append(forged);
    EXPECT_TRUE(appended.ok()) << appended.status().ToString();
    return appended.ok() ? appended->first_position : 0;
  }
};

TEST_F(FarBehindTest, CatchesUpToTheLiveState) {
  EXPECT_EQ(testing::describe(*reopen()->state().value()), testing::describe(state()));
}

TEST_F(FarBehindTest, StopsBeforeAnEventTheStateRefuses) {
  uint64_t bad = 0, applied = 0;
  // S1 is confirmed and waits for its time: confirming it again is refused.
  Status st = reopen_after("schedule-S1", encode_event(ScheduleConfirmed{}), &bad, &applied);
  ASSERT_TRUE(st.IsCorruption()) << st.ToString();
  EXPECT_NE(st.message().find("position " + std::to_string(bad) + "): ScheduleConfirmed is not allowed"),
            std::string::npos) << st.message();
  EXPECT_EQ(applied, bad - 1);
}

TEST_F(FarBehindTest, StopsBeforeAnEventThatDoesNotDecode) {
  uint64_t bad = 0, applied = 0;
  Status st = reopen_after("schedule-S1", {"ScheduleConfirmed", 1, "not a ScheduleConfirmed"}, &bad, &applied);
  ASSERT_TRUE(st.IsCorruption()) << st.ToString();
  EXPECT_NE(st.message().find(std::to_string(bad)), std::string::npos) << st.message();
  EXPECT_EQ(applied, bad - 1);
}

TEST_F(EngineTest, AnEventTheMachineRefusesIsCorruptionNamingStreamAndVersion) {
  auto p = engine_->propose(proposal({"acme"}, {{Role::kLocalSigning, "sign-new"}}, now_ + kHour), ctx());
  ASSERT_TRUE(p.ok());
  // Someone appends an activation to a schedule that was never confirmed.
  eventstore::AppendRequest forged;
  forged.writes.push_back({"schedule-S1", eventstore::ExpectedVersion::Any(), {encode_event(ScheduleActivated{0, "", ""})}});
  forged.command_id = "forged";
  ASSERT_TRUE(store_->append(forged).ok());
  auto reopened = Engine::open(*store_, store_dir_->path());
  ASSERT_TRUE(reopened.status().IsCorruption());
  EXPECT_NE(reopened.status().message().find("stream schedule-S1 version 2"), std::string::npos) << reopened.status().message();
  EXPECT_NE(reopened.status().message().find("in state proposed"), std::string::npos);
}

TEST_F(EngineTest, AScheduleIdSpelledOtherwiseNamesNoSchedule) {
  // The engine numbers schedules S1, S2, ... as it proposes them; the state looks schedules
  // up by that number, so a log that skips or respells one must not be read as valid.
  auto p = engine_->propose(proposal({"acme"}, {{Role::kLocalSigning, "sign-new"}}, now_ + kHour), ctx());
  ASSERT_TRUE(p.ok());
  // "S01" spells S1 differently: it names no schedule.
  eventstore::AppendRequest forged;
  forged.writes.push_back({"schedule-S01", eventstore::ExpectedVersion::Any(), {encode_event(ScheduleConfirmed{})}});
  forged.command_id = "respelled";
  ASSERT_TRUE(store_->append(forged).ok());
  auto reopened = Engine::open(*store_, store_dir_->path());
  ASSERT_TRUE(reopened.status().IsCorruption());
  EXPECT_NE(reopened.status().message().find("names unknown schedule S01"), std::string::npos)
      << reopened.status().message();
}

TEST_F(EngineTest, AProposalThatSkipsAScheduleNumberIsCorruption) {
  auto p = engine_->propose(proposal({"acme"}, {{Role::kLocalSigning, "sign-new"}}, now_ + kHour), ctx());
  ASSERT_TRUE(p.ok());
  ScheduleProposed skipped;
  skipped.schedule_id = "S7";
  skipped.proposal_id = "P2";
  skipped.partner = "globex";
  skipped.role = static_cast<uint8_t>(Role::kLocalSigning);
  skipped.alias = "sign-new";
  eventstore::AppendRequest forged;
  forged.writes.push_back({"schedule-S7", eventstore::ExpectedVersion::NoStream(), {encode_event(skipped)}});
  forged.command_id = "skipped";
  ASSERT_TRUE(store_->append(forged).ok());
  auto reopened = Engine::open(*store_, store_dir_->path());
  ASSERT_TRUE(reopened.status().IsCorruption());
  EXPECT_NE(reopened.status().message().find("proposes schedule S7 out of sequence (the next is S2)"),
            std::string::npos)
      << reopened.status().message();
}

}  // namespace
}  // namespace certsched::domain
