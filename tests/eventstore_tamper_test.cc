// Detection of every kind of tampering with a stored log: flipped bytes, recomputed
// checksums, deleted, swapped or truncated records, damaged indexes, old formats.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "base/byte_io.h"
#include "eventstore/event_store.h"
#include "base/read_ahead.h"
#include "eventstore/record_format.h"
#include "eventstore/stream_table.h"
#include "tests/test_support.h"

namespace certsched::eventstore {
namespace {

using testing::one_event;
using testing::run_of;
using testing::open_reader;
using testing::open_writer;
using testing::RawStore;
using testing::TempDir;

// The stored run at `position` with one event's payload replaced, framed again with a valid
// checksum and the original chain hash, as a careful forger would.
std::string forge_payload(const std::string& value, uint64_t position, size_t event, const std::string& payload) {
  StoredValue sv;
  EXPECT_TRUE(parse_stored_value(value, position, &sv).ok());
  std::vector<RecordedEvent> run;
  EXPECT_TRUE(decode_events(sv, position, &run).ok());
  std::vector<NewEvent> events;
  for (const RecordedEvent& e : run) events.push_back({e.type, e.schema_version, e.payload});
  events.at(event).payload = payload;
  RunHeader h;
  h.first_position = position;
  h.first_version = run[0].stream_version;
  h.time_ns = run[0].time_ns;
  h.stream = run[0].stream;
  h.actor = run[0].actor;
  h.command_id = run[0].command_id;
  h.correlation_id = run[0].correlation_id;
  std::string framed;
  append_framed_run(h, events.data(), events.size(), &framed);
  return stored_value(framed, sv.hash);
}

class TamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = open_writer(dir_.path());
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(store->append(one_event("s" + std::to_string(i % 3), ExpectedVersion::Any(),
                                          "c" + std::to_string(i), "payload-" + std::to_string(i)))
                      .ok());
    }
    auto clean = store->verify();
    ASSERT_TRUE(clean.ok() && clean->verified);
  }

  VerifyReport verify() {
    auto store = open_reader(dir_.path());
    auto report = store->verify();
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.value();
  }

  TempDir dir_;
};

TEST_F(TamperTest, OneFlippedByteIsDetectedAtItsPosition) {
  // Flip one byte in every region of record 6 in turn: header, body, payload, hash.
  std::string original;
  {
    RawStore raw(dir_.path());
    original = raw.get_log(6);
  }
  for (size_t offset : {size_t{0}, size_t{4}, size_t{6}, size_t{12}, original.size() - 40,
                        original.size() - 1}) {
    {
      RawStore raw(dir_.path());
      std::string v = original;
      v[offset] = static_cast<char>(v[offset] ^ 0x01);
      raw.put_log(6, v);
    }
    VerifyReport r = verify();
    EXPECT_FALSE(r.verified) << "offset " << offset;
    ASSERT_TRUE(r.first_bad_position.has_value());
    EXPECT_EQ(*r.first_bad_position, 6u) << "offset " << offset << ": " << r.problem;
    EXPECT_EQ(r.events, 5u);
  }
}

TEST_F(TamperTest, AlteredRecordWithRecomputedChecksumBreaksTheChain) {
  // An attacker who rewrites a payload and fixes the frame's checksum still cannot fix the
  // chain hash without rewriting every later record and the head.
  {
    RawStore raw(dir_.path());
    const std::string forged = forge_payload(raw.get_log(4), 4, 0, "payload-X");
    StoredValue check;
    ASSERT_TRUE(parse_stored_value(forged, 4, &check).ok());  // the frame itself is valid
    raw.put_log(4, forged);
  }
  VerifyReport r = verify();
  EXPECT_FALSE(r.verified);
  EXPECT_EQ(r.first_bad_position.value_or(0), 4u) << r.problem;
  EXPECT_NE(r.problem.find("hash chain"), std::string::npos) << r.problem;
}

TEST_F(TamperTest, DeletedRecordIsDetected) {
  {
    RawStore raw(dir_.path());
    raw.delete_log(3);
  }
  VerifyReport r = verify();
  EXPECT_FALSE(r.verified);
  EXPECT_EQ(r.first_bad_position.value_or(0), 3u) << r.problem;
  EXPECT_NE(r.problem.find("missing"), std::string::npos);
}

TEST_F(TamperTest, SwappedRecordsAreDetectedAtTheFirst) {
  {
    RawStore raw(dir_.path());
    std::string five = raw.get_log(5), eight = raw.get_log(8);
    raw.put_log(5, eight);
    raw.put_log(8, five);
  }
  VerifyReport r = verify();
  EXPECT_FALSE(r.verified);
  EXPECT_EQ(r.first_bad_position.value_or(0), 5u) << r.problem;
}

TEST_F(TamperTest, TruncatedTailIsDetectedThroughTheHead) {
  {
    RawStore raw(dir_.path());
    raw.delete_log(10);
    raw.delete_log(9);
  }
  VerifyReport r = verify();
  EXPECT_FALSE(r.verified);
  EXPECT_EQ(r.first_bad_position.value_or(0), 9u) << r.problem;
  // And the writer refuses to chain new records onto the damaged tail.
  StoreOptions options;
  auto writer = open_rocksdb_store(dir_.path(), options);
  EXPECT_TRUE(writer.status().IsCorruption()) << writer.status().ToString();
}

TEST_F(TamperTest, AFormat1StoreIsReadAsItIsAndMovedToFormat3ByTheWriter) {
  // s0 holds positions 1, 4, 7, 10; s1 2, 5, 8; s2 3, 6, 9.
  {
    RawStore raw(dir_.path());
    raw.make_format_1({{"s0", 4}, {"s1", 3}, {"s2", 3}});
  }
  {
    auto reader = open_reader(dir_.path());
    EXPECT_EQ(reader->stream_version("s1").value(), 3u);
    auto report = reader->verify();
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->verified) << report->problem;
  }
  {
    RawStore raw(dir_.path());
    EXPECT_EQ(raw.get("default", "meta/format"), "1");  // a reader changes nothing
  }
  {
    auto writer = open_writer(dir_.path());
    auto appended = writer->append(one_event("s1", ExpectedVersion::Exactly(3), "c-after-move"));
    ASSERT_TRUE(appended.ok()) << appended.status().ToString();
    EXPECT_EQ(appended->versions[0].version, 4u);
    EXPECT_EQ(appended->first_position, 11u);
    // The log now holds format 1's single events and a run after them: both read and verify.
    auto s1 = writer->read_stream("s1", 1, 10);
    ASSERT_TRUE(s1.ok()) << s1.status().ToString();
    ASSERT_EQ(s1->size(), 4u);
    EXPECT_EQ((*s1)[1].payload, "payload-4");
    EXPECT_EQ((*s1)[3].position, 11u);
    auto report = writer->verify();
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->verified) << report->problem;
    EXPECT_EQ(report->events, 11u);
  }
  RawStore raw(dir_.path());
  EXPECT_EQ(raw.get("default", "meta/format"), "3");
  const std::vector<std::string> cfs = raw.column_families();
  EXPECT_EQ(std::count(cfs.begin(), cfs.end(), "stream_heads"), 0) << "stale stream heads were kept";
}

TEST_F(TamperTest, AStoreOfAnUnknownFormatIsRefusedAndLeftAsItIs) {
  {
    RawStore raw(dir_.path());
    raw.put("default", "meta/format", "4");
  }
  StoreOptions options;
  auto writer = open_rocksdb_store(dir_.path(), options);
  ASSERT_TRUE(writer.status().IsCorruption()) << writer.status().ToString();
  EXPECT_NE(writer.status().message().find("format version 4"), std::string::npos) << writer.status().message();
  RawStore raw(dir_.path());
  EXPECT_EQ(raw.get("default", "meta/format"), "4");
}

TEST_F(TamperTest, AStreamsVersionIsReadFromItsLastIndexEntryAfterReopening) {
  // A writer that has just opened knows no stream; it finds each one's version in the index.
  auto writer = open_writer(dir_.path());
  EXPECT_TRUE(writer->append(one_event("s2", ExpectedVersion::Exactly(2), "c-stale")).status().IsConflict());
  EXPECT_TRUE(writer->append(one_event("s", ExpectedVersion::NoStream(), "c-new")).ok());  // a prefix of s0
  auto appended = writer->append(one_event("s2", ExpectedVersion::Exactly(3), "c-next"));
  ASSERT_TRUE(appended.ok()) << appended.status().ToString();
  EXPECT_EQ(appended->versions[0].version, 4u);
  EXPECT_EQ(writer->stream_version("s0").value(), 4u);
  EXPECT_EQ(writer->stream_version("s").value(), 1u);
  EXPECT_EQ(writer->stream_version("s3").value(), 0u);
}

TEST_F(TamperTest, ADamagedStreamIndexFailsReadsAsCorruptionNeverAsOtherEvents) {
  // s1 holds the records at positions 2, 5 and 8; each append wrote one index entry.
  auto key = [](uint64_t version) { return "s1" + std::string(1, '\0') + base::encode_u64(version); };
  struct Damage {
    std::string what;
    std::function<void(RawStore&)> apply;
    std::string problem;
  };
  const std::vector<Damage> damages = {
      {"an entry pointing at another stream's record",
       [&](RawStore& raw) { raw.put("stream_index", key(2), base::encode_u64(3)); },
       "stream s1 version 2 does not match the record at position 3"},
      {"a deleted entry", [&](RawStore& raw) { raw.erase("stream_index", key(2)); },
       "stream s1 version 2 is missing from the stream index"},
      {"a run longer than the versions before it",
       [&](RawStore& raw) { raw.put("stream_index", key(2), base::encode_u64(5) + base::encode_u64(3)); },
       "stream index entry of s1 names an impossible run"},
      {"a truncated entry", [&](RawStore& raw) { raw.put("stream_index", key(2), "\x05"); },
       "stream index entry of s1 is malformed"},
  };
  for (const Damage& d : damages) {
    {
      RawStore raw(dir_.path());
      d.apply(raw);
    }
    auto reader = open_reader(dir_.path());
    auto got = reader->read_stream("s1", 1, 100);
    EXPECT_TRUE(got.status().IsCorruption()) << d.what << ": " << got.status().ToString();
    EXPECT_NE(got.status().message().find(d.problem), std::string::npos) << d.what << ": " << got.status().message();
    reader.reset();
    RawStore raw(dir_.path());
    raw.put("stream_index", key(2), base::encode_u64(5));
  }
  auto repaired = open_reader(dir_.path())->read_stream("s1", 1, 100);
  ASSERT_TRUE(repaired.ok()) << repaired.status().ToString();
  EXPECT_EQ(repaired->size(), 3u);
}

TEST(RunTamperTest, AnEventAlteredOrRemovedInsideARunIsDetectedAtTheRun) {
  // s 1-4 at positions 2-5, one run; a before and after it.
  TempDir dir;
  {
    auto store = open_writer(dir.path());
    ASSERT_TRUE(store->append(run_of("a", 1, "c1")).ok());
    ASSERT_TRUE(store->append(run_of("s", 4, "c2")).ok());
    ASSERT_TRUE(store->append(run_of("a", 1, "c3")).ok());
  }
  std::string original;
  {
    RawStore raw(dir.path());
    original = raw.get_log(2);
    raw.put_log(2, forge_payload(original, 2, 2, "c2/X"));  // the event at position 4
  }
  {
    auto report = open_reader(dir.path())->verify();
    ASSERT_TRUE(report.ok());
    EXPECT_FALSE(report->verified);
    EXPECT_EQ(report->first_bad_position.value_or(0), 2u) << report->problem;
    EXPECT_NE(report->problem.find("hash chain"), std::string::npos) << report->problem;
    EXPECT_EQ(report->events, 1u);
  }
  {
    RawStore raw(dir.path());
    raw.delete_log(2);  // the whole run
  }
  auto store = open_reader(dir.path());
  auto report = store->verify();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->first_bad_position.value_or(0), 2u) << report->problem;
  EXPECT_NE(report->problem.find("missing"), std::string::npos) << report->problem;
  auto s = store->read_stream("s", 3, 10);
  EXPECT_TRUE(s.status().IsCorruption());
  EXPECT_NE(s.status().message().find("position 4"), std::string::npos) << s.status().ToString();
  auto from_inside = store->read_all(3, 10);
  EXPECT_TRUE(from_inside.status().IsCorruption()) << "read_all from inside a removed run";
}

TEST_F(TamperTest, ReadsOfADamagedRecordFailAsCorruptionNamingThePosition) {
  {
    RawStore raw(dir_.path());
    std::string v = raw.get_log(2);
    v[20] = static_cast<char>(v[20] ^ 0x80);
    raw.put_log(2, v);
  }
  auto store = open_reader(dir_.path());
  auto all = store->read_all(1, 100);
  EXPECT_TRUE(all.status().IsCorruption());
  EXPECT_NE(all.status().message().find("position 2"), std::string::npos) << all.status().ToString();
}

}  // namespace
}  // namespace certsched::eventstore
