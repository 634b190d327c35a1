// Domain event payloads: round trips, and refusal of unknown or malformed payloads.
#include <gtest/gtest.h>

#include "domain/event_codec.h"

namespace certsched::domain {
namespace {

eventstore::RecordedEvent stored(const eventstore::NewEvent& e, uint64_t position = 7) {
  eventstore::RecordedEvent r;
  r.position = position;
  r.type = e.type;
  r.schema_version = e.schema_version;
  r.payload = e.payload;
  return r;
}

TEST(EventCodecTest, RoundTripsSystemInitialized) {
  SystemInitialized in{"pki@example.com", "smtp://127.0.0.1:25", "certsched@example.com"};
  auto out = decode_event(stored(encode_event(in)));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(std::get<SystemInitialized>(out.value()), in);
}

TEST(EventCodecTest, UnknownTypeIsCorruptionNamingThePosition) {
  auto r = stored(encode_event(SystemInitialized{"a@b.c", "", "x@y.z"}), 12);
  r.type = "SomethingNew";
  auto out = decode_event(r);
  EXPECT_TRUE(out.status().IsCorruption());
  EXPECT_NE(out.status().message().find("position 12"), std::string::npos);
  EXPECT_NE(out.status().message().find("unknown event type"), std::string::npos);
}

TEST(EventCodecTest, UnknownSchemaVersionIsCorruption) {
  auto r = stored(encode_event(SystemInitialized{"a@b.c", "", "x@y.z"}));
  r.schema_version = 2;
  auto out = decode_event(r);
  EXPECT_TRUE(out.status().IsCorruption());
  EXPECT_NE(out.status().message().find("schema version"), std::string::npos);
}

TEST(EventCodecTest, TruncatedOrPaddedPayloadIsCorruption) {
  auto r = stored(encode_event(SystemInitialized{"a@b.c", "", "x@y.z"}));
  auto truncated = r;
  truncated.payload.pop_back();
  EXPECT_TRUE(decode_event(truncated).status().IsCorruption());
  auto padded = r;
  padded.payload.push_back('!');
  EXPECT_TRUE(decode_event(padded).status().IsCorruption());
}

}  // namespace
}  // namespace certsched::domain
