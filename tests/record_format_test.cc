// Record framing: round trips, and every way a stored value can lie about its size.
#include <gtest/gtest.h>

#include <vector>

#include "base/byte_io.h"
#include "eventstore/crc32c.h"
#include "eventstore/record_format.h"
#include "tests/test_support.h"

namespace certsched::eventstore {
namespace {

RecordedEvent sample() {
  RecordedEvent e;
  e.position = 42;
  e.stream = "schedule-1";
  e.stream_version = 3;
  e.type = "ScheduleConfirmed";
  e.schema_version = 2;
  e.time_ns = -5;  // before the epoch survives too
  e.actor = "api:integrator";
  e.command_id = "cmd";
  e.correlation_id = "proposal-1";
  e.payload = std::string("\x00\x01\x02", 3);
  return e;
}

TEST(RecordFormatTest, RoundTripsEveryField) {
  const RecordedEvent e = sample();
  const std::string value = stored_value(frame_record(e), chain_next(kGenesisHash, frame_record(e)));
  StoredValue sv;
  ASSERT_TRUE(parse_stored_value(value, 42, &sv).ok());
  EXPECT_EQ(sv.hash, chain_next(kGenesisHash, sv.framed_record));
  RecordedEvent d;
  ASSERT_TRUE(decode_body(sv.body, 42, &d).ok());
  EXPECT_EQ(d.position, e.position);
  EXPECT_EQ(d.stream, e.stream);
  EXPECT_EQ(d.stream_version, e.stream_version);
  EXPECT_EQ(d.type, e.type);
  EXPECT_EQ(d.schema_version, e.schema_version);
  EXPECT_EQ(d.time_ns, e.time_ns);
  EXPECT_EQ(d.actor, e.actor);
  EXPECT_EQ(d.command_id, e.command_id);
  EXPECT_EQ(d.correlation_id, e.correlation_id);
  EXPECT_EQ(d.payload, e.payload);
}

TEST(RecordFormatTest, Crc32cMatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);  // RFC 3720 check value
}

TEST(RecordFormatTest, FrameLengthLargerThanWhatRemainsIsCorruption) {
  std::string value = stored_value(frame_record(sample()), kGenesisHash);
  value[0] = '\x7f';  // body length now claims ~2 GiB
  StoredValue sv;
  Status st = parse_stored_value(value, 42, &sv);
  EXPECT_TRUE(st.IsCorruption());
  EXPECT_NE(st.message().find("position 42"), std::string::npos);
  EXPECT_NE(st.message().find("remain"), std::string::npos);
}

TEST(RecordFormatTest, TruncatedValueIsCorruption) {
  const std::string value = stored_value(frame_record(sample()), kGenesisHash);
  StoredValue sv;
  EXPECT_TRUE(parse_stored_value(value.substr(0, 20), 42, &sv).IsCorruption());
  EXPECT_TRUE(parse_stored_value("", 42, &sv).IsCorruption());
  EXPECT_TRUE(parse_stored_value(value.substr(0, value.size() - 1), 42, &sv).IsCorruption());
}

TEST(RecordFormatTest, UnknownFrameVersionIsCorruption) {
  std::string value = stored_value(frame_record(sample()), kGenesisHash);
  value[4] = 9;
  StoredValue sv;
  Status st = parse_stored_value(value, 42, &sv);
  EXPECT_TRUE(st.IsCorruption());
  EXPECT_NE(st.message().find("version 9"), std::string::npos) << st.message();
}

TEST(RecordFormatTest, ForgedFieldLengthInsideAValidFrameIsCorruption) {
  std::string body;
  base::put_u64(body, 42);
  base::put_u64(body, 1);
  base::put_u64(body, 0);
  base::put_u16(body, 1);
  base::put_u16(body, 0xFFFF);  // stream name claims 65535 bytes; three follow
  body += "abc";
  const std::string value = testing::forge_stored_value(body);
  StoredValue sv;
  ASSERT_TRUE(parse_stored_value(value, 42, &sv).ok());
  RecordedEvent e;
  Status st = decode_body(sv.body, 42, &e);
  EXPECT_TRUE(st.IsCorruption());
  EXPECT_NE(st.message().find("position 42"), std::string::npos);
}

TEST(RecordFormatTest, RecordClaimingAnotherPositionIsCorruption) {
  RecordedEvent e = sample();
  StoredValue sv;
  const std::string value = stored_value(frame_record(e), kGenesisHash);
  ASSERT_TRUE(parse_stored_value(value, 43, &sv).ok());
  RecordedEvent d;
  Status st = decode_body(sv.body, 43, &d);
  EXPECT_TRUE(st.IsCorruption());
  EXPECT_NE(st.message().find("position 42"), std::string::npos);
}

std::string framed_run(uint64_t first_position, const std::vector<NewEvent>& events) {
  RunHeader h;
  h.first_position = first_position;
  h.first_version = 7;
  h.time_ns = -5;
  h.stream = "partner-acme";
  h.actor = "api:integrator";
  h.command_id = "cmd";
  h.correlation_id = "proposal-1";
  std::string framed;
  append_framed_run(h, events.data(), events.size(), &framed);
  return framed;
}

TEST(RecordFormatTest, ARunRoundTripsEveryEventWithTheFieldsItShares) {
  const std::vector<NewEvent> events = {{"ScheduleProposed", 2, std::string("\x00\x01", 2)},
                                        {"ScheduleConfirmed", 1, ""},
                                        {"ScheduleEmailed", 3, "mail"}};
  const std::string framed = framed_run(42, events);
  EXPECT_EQ(framed.size(), kFrameHeaderBytes + run_header_bytes({0, 0, 0, "partner-acme", "api:integrator", "cmd",
                                                                 "proposal-1"}) +
                               run_event_bytes(events[0]) + run_event_bytes(events[1]) + run_event_bytes(events[2]));
  const std::string value = stored_value(framed, kGenesisHash);  // sv views it
  StoredValue sv;
  ASSERT_TRUE(parse_stored_value(value, 42, &sv).ok());
  EXPECT_EQ(sv.frame_version, kRunFrame);
  std::vector<RecordedEvent> d;
  ASSERT_TRUE(decode_events(sv, 42, &d).ok());
  ASSERT_EQ(d.size(), 3u);
  for (size_t i = 0; i < d.size(); ++i) {
    EXPECT_EQ(d[i].position, 42 + i);
    EXPECT_EQ(d[i].stream_version, 7 + i);
    EXPECT_EQ(d[i].stream, "partner-acme");
    EXPECT_EQ(d[i].time_ns, -5);
    EXPECT_EQ(d[i].actor, "api:integrator");
    EXPECT_EQ(d[i].command_id, "cmd");
    EXPECT_EQ(d[i].correlation_id, "proposal-1");
    EXPECT_EQ(d[i].type, events[i].type);
    EXPECT_EQ(d[i].schema_version, events[i].schema_version);
    EXPECT_EQ(d[i].payload, events[i].payload);
  }
}

TEST(RecordFormatTest, ARunClaimingMoreEventsThanItsBytesHoldIsCorruptionBeforeAllocating) {
  std::string body;
  base::put_u64(body, 42);
  base::put_u64(body, 1);
  base::put_u64(body, 0);
  base::put_bytes16(body, "s");
  base::put_bytes16(body, "");
  base::put_bytes16(body, "c");
  base::put_bytes16(body, "");
  base::put_u32(body, 0xFFFFFFFF);  // four billion events in the nine bytes that follow
  base::put_u16(body, 1);
  base::put_bytes16(body, "T");
  base::put_bytes32(body, "");
  const std::string value = testing::forge_stored_value(body, kRunFrame);
  StoredValue sv;
  ASSERT_TRUE(parse_stored_value(value, 42, &sv).ok());
  std::vector<RecordedEvent> d;
  Status st = decode_events(sv, 42, &d);
  EXPECT_TRUE(st.IsCorruption());
  EXPECT_NE(st.message().find("claims 4294967295 events"), std::string::npos) << st.message();
  EXPECT_LE(d.capacity(), 1u);
}

TEST(RecordFormatTest, ARunStoredUnderAnotherPositionOrWithTrailingBytesIsCorruption) {
  const std::string framed = framed_run(42, {{"T", 1, "x"}});
  const std::string value = stored_value(framed, kGenesisHash);
  StoredValue sv;
  std::vector<RecordedEvent> d;
  ASSERT_TRUE(parse_stored_value(value, 43, &sv).ok());
  Status moved = decode_events(sv, 43, &d);
  EXPECT_TRUE(moved.IsCorruption());
  EXPECT_NE(moved.message().find("begins at position 42"), std::string::npos) << moved.message();

  const std::string longer = testing::forge_stored_value(framed.substr(kFrameHeaderBytes) + "z", kRunFrame);
  ASSERT_TRUE(parse_stored_value(longer, 42, &sv).ok());
  Status trailing = decode_events(sv, 42, &d);
  EXPECT_TRUE(trailing.IsCorruption());
  EXPECT_NE(trailing.message().find("trailing"), std::string::npos) << trailing.message();
}

}  // namespace
}  // namespace certsched::eventstore
