// The event store under concurrency and beside other processes: concurrent writers, group
// commit, subscriptions, readers beside the writer, and the writer lock.
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
#include "tests/store_backends.h"
#include "tests/test_support.h"

namespace certsched::eventstore {
namespace {

using testing::one_event;
using testing::open_reader;
using testing::open_writer;
using testing::RawStore;
using testing::TempDir;

// The conformance suite: every backend keeps these promises (store_backends.h).
class EventStoreConformance : public ::testing::TestWithParam<testing::Backend> {};
using testing::StoreDir;

TEST_P(EventStoreConformance, ConcurrentWritersOnOneStreamNeverBothWinAVersion) {
  StoreDir dir(GetParam());
  auto store = open_writer(dir.path());
  constexpr int kThreads = 8;
  constexpr int kAttempts = 60;
  std::atomic<int> wins{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAttempts; ++i) {
        auto v = store->stream_version("contended");
        ASSERT_TRUE(v.ok());
        auto r = store->append(one_event("contended", ExpectedVersion::Exactly(v.value()),
                                         "t" + std::to_string(t) + "-" + std::to_string(i)));
        if (r.ok()) {
          ++wins;
        } else {
          ASSERT_TRUE(r.status().IsConflict()) << r.status().ToString();
          ++conflicts;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wins + conflicts, kThreads * kAttempts);
  EXPECT_GT(wins.load(), 0);
  // Every win is exactly one version: no two writers both appended on top of the same one.
  EXPECT_EQ(store->stream_version("contended").value(), static_cast<uint64_t>(wins.load()));
  auto events = store->read_stream("contended", 1, 100000);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), static_cast<size_t>(wins.load()));
  for (size_t i = 0; i < events->size(); ++i) EXPECT_EQ((*events)[i].stream_version, i + 1);
  EXPECT_TRUE(store->verify()->verified);
}

TEST_P(EventStoreConformance, ConcurrentDurableWritersAreAllAcknowledgedInOneGaplessLog) {
  StoreDir dir(GetParam());
  auto store = open_writer(dir.path(), /*sync=*/true);
  constexpr int kThreads = 16;
  constexpr int kPerThread = 25;
  std::mutex mu;
  std::set<uint64_t> positions;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string stream = "w" + std::to_string(t);
        auto r = store->append(one_event(stream, ExpectedVersion::Exactly(i),
                                         stream + "-" + std::to_string(i)));
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        std::lock_guard<std::mutex> l(mu);
        positions.insert(r->first_position);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(positions.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*positions.begin(), 1u);
  EXPECT_EQ(*positions.rbegin(), static_cast<uint64_t>(kThreads * kPerThread));
  auto report = store->verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->verified) << report->problem;
  EXPECT_EQ(report->events, static_cast<uint64_t>(kThreads * kPerThread));

  // Group commit: sixteen writers waiting on syncs share them, so there are fewer synced
  // batches (transactions, on PostgreSQL) than appends.
  const StoreStats stats = store->stats();
  EXPECT_EQ(stats.appends_committed, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_LT(stats.batches_written, stats.appends_committed);
  std::cout << "[ stats    ] " << stats.appends_committed << " durable appends in "
            << stats.batches_written << " synced batches\n";
}

TEST_P(EventStoreConformance, ARetryArrivingWithTheFirstTryIsAppliedOnceAndBothGetItsResult) {
  StoreDir dir(GetParam());
  auto store = open_writer(dir.path(), /*sync=*/true);
  constexpr int kThreads = 8;
  constexpr int kCommands = 30;
  // Every thread sends the same commands in the same order, as clients retrying at once do:
  // tries of one command meet in one group, in the queue, or after it committed.
  std::vector<std::vector<uint64_t>> positions(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCommands; ++i) {
        auto r = store->append(one_event("retried", ExpectedVersion::Any(), "command-" + std::to_string(i)));
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        positions[t].push_back(r->first_position);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 1; t < kThreads; ++t) EXPECT_EQ(positions[t], positions[0]);
  EXPECT_EQ(store->stream_version("retried").value(), static_cast<uint64_t>(kCommands));
  EXPECT_EQ(store->stats().appends_committed, static_cast<uint64_t>(kCommands));
  EXPECT_TRUE(store->verify()->verified);
}

TEST_P(EventStoreConformance, BadRequestsAreRefusedWithANamedReason) {
  StoreDir dir(GetParam());
  auto store = open_writer(dir.path());
  auto no_id = store->append(one_event("s", ExpectedVersion::Any(), ""));
  EXPECT_TRUE(no_id.status().IsInvalidArgument());
  EXPECT_NE(no_id.status().message().find("command id"), std::string::npos);

  EXPECT_TRUE(store->append(one_event("", ExpectedVersion::Any(), "c")).status().IsInvalidArgument());
  EXPECT_TRUE(store->append(one_event(std::string("a\0b", 3), ExpectedVersion::Any(), "c"))
                  .status().IsInvalidArgument());
  EXPECT_TRUE(store->append(one_event(std::string(300, 's'), ExpectedVersion::Any(), "c"))
                  .status().IsInvalidArgument());
  auto huge = store->append(one_event("s", ExpectedVersion::Any(), "c",
                                      std::string(kMaxPayloadBytes + 1, 'x')));
  EXPECT_TRUE(huge.status().IsInvalidArgument());

  AppendRequest twice;
  twice.command_id = "c";
  twice.writes.push_back({"s", ExpectedVersion::Any(), {{"E", 1, ""}}});
  twice.writes.push_back({"s", ExpectedVersion::Any(), {{"E", 1, ""}}});
  EXPECT_TRUE(store->append(twice).status().IsInvalidArgument());

  EXPECT_EQ(store->head()->position, 0u);
}

TEST_P(EventStoreConformance, ReadAllPagesThroughTheLogInOrder) {
  StoreDir dir(GetParam());
  auto store = open_writer(dir.path());
  for (int i = 0; i < 250; ++i) {
    ASSERT_TRUE(store->append(one_event("s" + std::to_string(i % 7), ExpectedVersion::Any(),
                                        "c" + std::to_string(i))).ok());
  }
  uint64_t next = 1, seen = 0;
  for (;;) {
    auto batch = store->read_all(next, 64);
    ASSERT_TRUE(batch.ok());
    if (batch->empty()) break;
    for (const auto& e : batch.value()) EXPECT_EQ(e.position, next++);
    seen += batch->size();
  }
  EXPECT_EQ(seen, 250u);
}

TEST_P(EventStoreConformance, SubscriptionCatchesUpThenFollowsNewAppends) {
  StoreDir dir(GetParam());
  auto store = open_writer(dir.path());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store->append(one_event("s", ExpectedVersion::Any(), "c" + std::to_string(i))).ok());
  }
  std::mutex mu;
  std::vector<uint64_t> seen;
  auto sub = store->subscribe(2, [&](const std::vector<RecordedEvent>& batch) {
    std::lock_guard<std::mutex> l(mu);
    for (const auto& e : batch) seen.push_back(e.position);
    return Status::Ok();
  });
  for (int i = 5; i < 9; ++i) {
    ASSERT_TRUE(store->append(one_event("s", ExpectedVersion::Any(), "c" + std::to_string(i))).ok());
  }
  for (int i = 0; i < 200 && sub->position() < 9; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  sub.reset();
  std::vector<uint64_t> expected{3, 4, 5, 6, 7, 8, 9};
  EXPECT_EQ(seen, expected);
}

TEST_P(EventStoreConformance, SubscriptionStopsOnHandlerError) {
  StoreDir dir(GetParam());
  auto store = open_writer(dir.path());
  ASSERT_TRUE(store->append(one_event("s", ExpectedVersion::Any(), "c")).ok());
  auto sub = store->subscribe(0, [](const std::vector<RecordedEvent>&) {
    return Status::Corruption("projection refused it");
  });
  for (int i = 0; i < 200 && sub->status().ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(sub->status().IsCorruption());
  EXPECT_EQ(sub->position(), 0u);
}

TEST_P(EventStoreConformance, ReaderWorksBesideTheWriterAndSeesItsAppends) {
  StoreDir dir(GetParam());
  auto writer = open_writer(dir.path(), /*sync=*/true);
  ASSERT_TRUE(writer->append(one_event("s", ExpectedVersion::Any(), "c1")).ok());
  auto reader = open_reader(dir.path());
  EXPECT_EQ(reader->head()->position, 1u);
  EXPECT_TRUE(reader->append(one_event("s", ExpectedVersion::Any(), "c2")).status().IsInvalidArgument());

  ASSERT_TRUE(writer->append(one_event("s", ExpectedVersion::Any(), "c2")).ok());
  ASSERT_TRUE(reader->refresh().ok());
  EXPECT_EQ(reader->head()->position, 2u);
  auto report = reader->verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->verified);
  EXPECT_EQ(report->head_hash_hex, writer->head()->hash_hex);

  // A reader's subscription follows the writer without being told.
  std::atomic<uint64_t> last{0};
  auto sub = reader->subscribe(0, [&](const std::vector<RecordedEvent>& b) {
    last = b.back().position;
    return Status::Ok();
  });
  ASSERT_TRUE(writer->append(one_event("s", ExpectedVersion::Any(), "c3")).ok());
  for (int i = 0; i < 300 && last < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(last.load(), 3u);
}

TEST_P(EventStoreConformance, SecondWriterIsToldWhoHoldsTheStore) {
  StoreDir dir(GetParam());
  auto writer = open_writer(dir.path());
  StoreOptions options;
  options.holder = "second";
  auto second = open_store(dir.path(), options);
  ASSERT_TRUE(second.status().IsBusy()) << second.status().ToString();
  const std::string& m = second.status().message();
  EXPECT_NE(m.find("pid " + std::to_string(getpid())), std::string::npos) << m;
  EXPECT_NE(m.find("certsched test"), std::string::npos) << m;
  writer.reset();
  EXPECT_TRUE(open_store(dir.path(), options).ok());
}

TEST(StreamTableTest, KeepsEveryStreamAsItGrowsPastItsFirstSize) {
  // verify() walks the log with this table; a stream lost on growth would read as a jump.
  const std::hash<std::string_view> hash;
  StreamTable table(1);
  for (uint64_t i = 0; i < 10000; ++i) table.at(hash("stream-" + std::to_string(i))).version = i + 1;
  for (uint64_t i = 0; i < 10000; ++i) {
    EXPECT_EQ(table.at(hash("stream-" + std::to_string(i))).version, i + 1) << i;  // finds, does not reset
  }
  EXPECT_EQ(table.at(hash("stream-never-seen")).version, 0u);
}

TEST(EventStoreTest, OpeningAMissingStoreSaysHowToCreateOne) {
  TempDir dir;
  StoreOptions options;
  auto missing = open_rocksdb_store(dir.sub("nope"), options);
  EXPECT_TRUE(missing.status().IsNotFound());
  EXPECT_NE(missing.status().message().find("certsched init"), std::string::npos);
}

// --- Tampering, as someone with file access would do it, through RocksDB itself. ---

CERTSCHED_ON_BOTH_BACKENDS(EventStoreConformance);

}  // namespace
}  // namespace certsched::eventstore
