// Record framing: round trips, and every way a stored value can lie about its size.
#include <gtest/gtest.h>

#include "eventstore/byte_io.h"
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
  put_u64(body, 42);
  put_u64(body, 1);
  put_u64(body, 0);
  put_u16(body, 1);
  put_u16(body, 0xFFFF);  // stream name claims 65535 bytes; three follow
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

}  // namespace
}  // namespace certsched::eventstore
