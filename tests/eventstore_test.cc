// The event store's promises: versions, atomicity, idempotency, reads, subscriptions,
// readers beside a writer, the writer lock, and detection of every kind of tampering.
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
using testing::open_reader;
using testing::open_writer;
using testing::RawStore;
using testing::TempDir;

TEST(EventStoreTest, AppendsGetGapFreePositionsAndStreamVersions) {
  TempDir dir;
  auto store = open_writer(dir.path());
  auto a = store->append(one_event("s-a", ExpectedVersion::NoStream(), "c1"));
  auto b = store->append(one_event("s-b", ExpectedVersion::Any(), "c2"));
  auto c = store->append(one_event("s-a", ExpectedVersion::Exactly(1), "c3"));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok()) << c.status().ToString();
  EXPECT_EQ(a->first_position, 1u);
  EXPECT_EQ(b->first_position, 2u);
  EXPECT_EQ(c->first_position, 3u);
  EXPECT_EQ(c->versions.at(0).version, 2u);

  auto stream = store->read_stream("s-a", 1, 100);
  ASSERT_TRUE(stream.ok());
  ASSERT_EQ(stream->size(), 2u);
  EXPECT_EQ((*stream)[0].position, 1u);
  EXPECT_EQ((*stream)[1].position, 3u);
  EXPECT_EQ((*stream)[1].stream_version, 2u);
  EXPECT_EQ((*stream)[1].command_id, "c3");

  auto from2 = store->read_stream("s-a", 2, 100);
  ASSERT_TRUE(from2.ok());
  ASSERT_EQ(from2->size(), 1u);
  EXPECT_EQ((*from2)[0].position, 3u);
  EXPECT_EQ(store->stream_version("s-a").value(), 2u);
  EXPECT_EQ(store->stream_version("nothing").value(), 0u);
}

TEST(EventStoreTest, StreamsReadFromAnyVersionAcrossAppendsOfSeveralEvents) {
  // One index entry covers all the events an append writes to a stream; reads must find
  // every version inside such runs, and stop inside one when asked for fewer events.
  TempDir dir;
  auto store = open_writer(dir.path());
  auto events = [](const std::string& stream, int n, const std::string& command) {
    AppendRequest req;
    req.writes.push_back({stream, ExpectedVersion::Any(), {}});
    for (int i = 0; i < n; ++i) req.writes[0].events.push_back({"TestEvent", 1, command + "/" + std::to_string(i)});
    req.writes.push_back({"other", ExpectedVersion::Any(), {{"TestEvent", 1, "x"}}});
    req.command_id = command;
    return req;
  };
  ASSERT_TRUE(store->append(events("s", 4, "a")).ok());  // s 1-4 at positions 1-4
  ASSERT_TRUE(store->append(events("s", 1, "b")).ok());  // s 5 at 6
  ASSERT_TRUE(store->append(events("s", 3, "c")).ok());  // s 6-8 at 8-10
  EXPECT_EQ(store->stream_version("s").value(), 8u);
  for (uint64_t from = 1; from <= 9; ++from) {
    auto got = store->read_stream("s", from, 100);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->size(), 9 - from) << "from " << from;
    for (size_t i = 0; i < got->size(); ++i) EXPECT_EQ((*got)[i].stream_version, from + i);
  }
  auto two = store->read_stream("s", 4, 2);  // the end of one run and the next run
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].payload, "a/3");
  EXPECT_EQ((*two)[1].position, 6u);
  EXPECT_EQ((*two)[1].payload, "b/0");
  auto last = store->read_stream("s", 7, 100);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->size(), 2u);
  EXPECT_EQ((*last)[0].position, 9u);
  EXPECT_EQ((*last)[1].payload, "c/2");
}

// Several events to one stream in one append (a run) for the tests of format 3's runs.
AppendRequest run_of(const std::string& stream, int n, const std::string& command) {
  AppendRequest req;
  req.writes.push_back({stream, ExpectedVersion::Any(), {}});
  for (int i = 0; i < n; ++i) req.writes[0].events.push_back({"TestEvent", 1, command + "/" + std::to_string(i)});
  req.command_id = command;
  req.actor = "cli:alice";
  req.correlation_id = "proposal-" + command;
  return req;
}

TEST(EventStoreTest, AnAppendStoresEachStreamsEventsOnceAsARunThatReadsBackEventByEvent) {
  TempDir dir;
  {
    auto store = open_writer(dir.path());
    ASSERT_TRUE(store->append(run_of("a", 1, "c1")).ok());  // a 1 at 1
    AppendRequest two_streams = run_of("s", 5, "c2");         // s 1-5 at 2-6
    two_streams.writes.push_back({"t", ExpectedVersion::NoStream(), {}});
    for (int i = 0; i < 3; ++i) two_streams.writes[1].events.push_back({"Other", 2, "t/" + std::to_string(i)});
    ASSERT_TRUE(store->append(two_streams).ok());  // t 1-3 at 7-9
  }
  {
    RawStore raw(dir.path());
    for (uint64_t stored : {1, 2, 7}) EXPECT_NO_THROW(raw.get_log(stored)) << stored;
    for (uint64_t inside : {3, 6, 8, 9}) EXPECT_THROW(raw.get_log(inside), std::runtime_error) << inside;
  }
  // A writer reopening finds the log's end inside the last run, and goes on from there.
  auto store = open_writer(dir.path());
  auto next = store->append(run_of("s", 1, "c3"));
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->first_position, 10u);
  EXPECT_EQ(next->versions[0].version, 6u);

  auto middle = store->read_all(4, 4);  // from inside one run into the next
  ASSERT_TRUE(middle.ok()) << middle.status().ToString();
  ASSERT_EQ(middle->size(), 4u);
  EXPECT_EQ((*middle)[0].position, 4u);
  EXPECT_EQ((*middle)[0].stream_version, 3u);
  EXPECT_EQ((*middle)[0].payload, "c2/2");
  EXPECT_EQ((*middle)[0].actor, "cli:alice");
  EXPECT_EQ((*middle)[0].command_id, "c2");
  EXPECT_EQ((*middle)[0].correlation_id, "proposal-c2");
  EXPECT_EQ((*middle)[3].stream, "t");
  EXPECT_EQ((*middle)[3].stream_version, 1u);
  EXPECT_EQ((*middle)[3].type, "Other");
  EXPECT_EQ((*middle)[3].schema_version, 2);
  EXPECT_EQ((*middle)[3].time_ns, (*middle)[0].time_ns);

  auto s = store->read_stream("s", 4, 10);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->size(), 3u);
  EXPECT_EQ((*s)[0].position, 5u);
  EXPECT_EQ((*s)[1].payload, "c2/4");
  EXPECT_EQ((*s)[2].position, 10u);

  std::vector<uint64_t> walked;
  auto report = store->verify([&](const RecordedEvent& e) {
    walked.push_back(e.position);
    return Status::Ok();
  });
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->verified) << report->problem;
  EXPECT_EQ(report->events, 10u);
  EXPECT_EQ(walked, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
}

// A walk longer than a batch reads, hashes and decodes a batch ahead of its callback, on a
// second thread. The callback still gets every event once and in order; a bad run deep in
// the log stops it just before that run; an error from the callback stops the walk.
TEST(EventStoreTest, ALongVerifiedWalkHandsOverEveryEventInOrderAndStopsAtTheFirstProblem) {
  TempDir dir;
  std::vector<uint64_t> run_starts;
  {
    auto store = open_writer(dir.path());
    for (int i = 0; i < 1000; ++i) {  // about 10,000 events, in runs of 1 to 19
      auto appended = store->append(run_of("s" + std::to_string(i % 7), 1 + (i * 7) % 19, "c" + std::to_string(i)));
      ASSERT_TRUE(appended.ok()) << appended.status().ToString();
      run_starts.push_back(appended->first_position);
    }
  }
  auto walk = [&](uint64_t stop_at, std::vector<uint64_t>* seen) {
    auto store = open_reader(dir.path());
    return store->verify([&](const RecordedEvent& e) {
      seen->push_back(e.position);
      return e.position == stop_at ? Status::InvalidArgument("enough at " + std::to_string(e.position)) : Status::Ok();
    });
  };
  std::vector<uint64_t> seen;
  auto whole = walk(0, &seen);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  ASSERT_TRUE(whole->verified) << whole->problem;
  const uint64_t events = whole->events;
  ASSERT_GT(events, 9000u);
  ASSERT_EQ(seen.size(), events);
  for (uint64_t i = 0; i < events; ++i) ASSERT_EQ(seen[i], i + 1);

  seen.clear();
  auto stopped = walk(7001, &seen);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.status().message(), "enough at 7001");
  EXPECT_EQ(seen.size(), 7001u);
  EXPECT_EQ(seen.back(), 7001u);

  // The run holding position 8000 is removed: the walk reports it and hands over nothing from it on.
  const uint64_t removed = *std::prev(std::upper_bound(run_starts.begin(), run_starts.end(), 8000));
  RawStore(dir.path()).delete_log(removed);
  seen.clear();
  auto broken = walk(0, &seen);
  ASSERT_TRUE(broken.ok()) << broken.status().ToString();
  EXPECT_FALSE(broken->verified);
  EXPECT_EQ(broken->first_bad_position.value_or(0), removed) << broken->problem;
  EXPECT_EQ(broken->events, removed - 1);
  EXPECT_EQ(seen.size(), removed - 1);
}

TEST(ReadAheadTest, BatchesArriveInOrderAndErrorsStopTheWalkAfterWhatPrecededThem) {
  using Batch = std::vector<int>;
  // The producer fails on its fifth batch, which still holds the numbers before the failure.
  int produced = 0;
  auto numbers = [&](Batch* b, bool* more) {
    ++produced;
    b->clear();
    for (int i = 0; i < 10; ++i) b->push_back((produced - 1) * 10 + i);
    if (produced == 5) {
      b->resize(3);
      return Status::Corruption("bad number 43");
    }
    *more = true;
    return Status::Ok();
  };
  std::vector<int> seen;
  auto keep = [&](const Batch& b) {
    seen.insert(seen.end(), b.begin(), b.end());
    return Status::Ok();
  };
  Status st = base::read_ahead<Batch>(numbers, keep);
  EXPECT_TRUE(st.IsCorruption()) << st.ToString();
  ASSERT_EQ(seen.size(), 43u);
  for (int i = 0; i < 43; ++i) ASSERT_EQ(seen[i], i);

  // A consumer that fails on its third batch stops the producer: at most the one batch it
  // may already have filled beyond it is made, and it is not consumed.
  produced = 0;
  seen.clear();
  int consumed = 0;
  auto endless = [&](Batch* b, bool* more) {
    b->assign(1, produced++);
    *more = true;
    return Status::Ok();
  };
  st = base::read_ahead<Batch>(endless, [&](const Batch& b) {
    seen.push_back(b.front());
    return ++consumed == 3 ? Status::InvalidArgument("stop") : Status::Ok();
  });
  EXPECT_EQ(st.message(), "stop");
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2}));
  EXPECT_LE(produced, 4);

  // The last batch is consumed, then the walk ends.
  produced = 0;
  seen.clear();
  st = base::read_ahead<Batch>(
      [&](Batch* b, bool* more) {
        b->assign(1, produced++);
        *more = produced < 4;
        return Status::Ok();
      },
      keep);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3}));
}

TEST(EventStoreTest, EventsTooLargeForOneRunAreStoredInSeveral) {
  TempDir dir;
  const std::string big(700 * 1024, 'b');  // two of these exceed a run's body limit
  {
    auto store = open_writer(dir.path());
    AppendRequest req = run_of("big", 0, "c1");
    for (char c : {'x', 'y', 'z'}) req.writes[0].events.push_back({"Big", 1, big + c});
    ASSERT_TRUE(store->append(req).ok());
    auto all = store->read_stream("big", 1, 10);
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    ASSERT_EQ(all->size(), 3u);
    EXPECT_EQ((*all)[2].payload, big + 'z');
    auto report = store->verify();
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->verified) << report->problem;
  }
  RawStore raw(dir.path());
  for (uint64_t stored : {1, 2, 3}) EXPECT_NO_THROW(raw.get_log(stored)) << stored;
}

TEST(EventStoreTest, RecordsCarryEveryField) {
  TempDir dir;
  auto store = open_writer(dir.path());
  AppendRequest req;
  req.writes.push_back({"schedule-7", ExpectedVersion::NoStream(),
                        {{"ScheduleProposed", 3, std::string("\0bin\xff", 5)}}});
  req.command_id = "cmd-1";
  req.actor = "cli:alice";
  req.correlation_id = "proposal-9";
  req.time_ns = 1'800'000'000'123'456'789;
  ASSERT_TRUE(store->append(req).ok());
  auto all = store->read_all(1, 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  const RecordedEvent& e = (*all)[0];
  EXPECT_EQ(e.position, 1u);
  EXPECT_EQ(e.stream, "schedule-7");
  EXPECT_EQ(e.stream_version, 1u);
  EXPECT_EQ(e.type, "ScheduleProposed");
  EXPECT_EQ(e.schema_version, 3);
  EXPECT_EQ(e.time_ns, 1'800'000'000'123'456'789);
  EXPECT_EQ(e.actor, "cli:alice");
  EXPECT_EQ(e.command_id, "cmd-1");
  EXPECT_EQ(e.correlation_id, "proposal-9");
  EXPECT_EQ(e.payload, std::string("\0bin\xff", 5));
}

TEST(EventStoreTest, ExpectedVersionConflictIsRefusedAndWritesNothing) {
  TempDir dir;
  auto store = open_writer(dir.path());
  ASSERT_TRUE(store->append(one_event("s", ExpectedVersion::NoStream(), "c1")).ok());
  const Head before = store->head().value();

  auto again = store->append(one_event("s", ExpectedVersion::NoStream(), "c2"));
  EXPECT_TRUE(again.status().IsConflict()) << again.status().ToString();
  auto stale = store->append(one_event("s", ExpectedVersion::Exactly(0), "c3"));
  EXPECT_TRUE(stale.status().IsConflict());
  EXPECT_NE(stale.status().message().find("expected 0"), std::string::npos);

  const Head after = store->head().value();
  EXPECT_EQ(after.position, before.position);
  EXPECT_EQ(after.hash_hex, before.hash_hex);
  EXPECT_EQ(store->stream_version("s").value(), 1u);
  // The refused command id was not recorded: the same id may be used once the conflict is fixed.
  EXPECT_TRUE(store->append(one_event("s", ExpectedVersion::Exactly(1), "c3")).ok());
}

TEST(EventStoreTest, MultiStreamAppendIsAllOrNothing) {
  TempDir dir;
  auto store = open_writer(dir.path());
  ASSERT_TRUE(store->append(one_event("b", ExpectedVersion::NoStream(), "c0")).ok());

  AppendRequest req;
  req.command_id = "proposal";
  req.writes.push_back({"a", ExpectedVersion::NoStream(), {{"E", 1, "x"}}});
  req.writes.push_back({"b", ExpectedVersion::NoStream(), {{"E", 1, "y"}}});  // conflicts
  EXPECT_TRUE(store->append(req).status().IsConflict());
  EXPECT_EQ(store->stream_version("a").value(), 0u);
  EXPECT_EQ(store->head()->position, 1u);

  req.writes[1].expected = ExpectedVersion::Exactly(1);
  auto ok = store->append(req);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->first_position, 2u);
  EXPECT_EQ(ok->last_position, 3u);
  EXPECT_EQ(store->stream_version("a").value(), 1u);
  EXPECT_EQ(store->stream_version("b").value(), 2u);
}

TEST(EventStoreTest, RetriedCommandIdAppliesOnceAndReturnsTheFirstResult) {
  TempDir dir;
  auto store = open_writer(dir.path());
  auto first = store->append(one_event("s", ExpectedVersion::Any(), "same-id"));
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->duplicate);
  const Head before = store->head().value();

  auto retry = store->append(one_event("s", ExpectedVersion::Any(), "same-id"));
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->first_position, first->first_position);
  EXPECT_EQ(retry->versions.at(0).version, 1u);
  EXPECT_EQ(store->head()->position, before.position);
  EXPECT_EQ(store->head()->hash_hex, before.hash_hex);

  // Also across a restart: the command index is durable, not a cache.
  store.reset();
  store = open_writer(dir.path());
  auto after_restart = store->append(one_event("s", ExpectedVersion::Any(), "same-id"));
  ASSERT_TRUE(after_restart.ok());
  EXPECT_TRUE(after_restart->duplicate);
  EXPECT_EQ(store->stream_version("s").value(), 1u);
}

TEST(EventStoreTest, ACommandIdReusedForAnotherRequestIsRefusedAndWritesNothing) {
  TempDir dir;
  auto store = open_writer(dir.path());
  auto asked = [](std::string digest) {
    AppendRequest r = one_event("s", ExpectedVersion::Any(), "reused-id");
    r.request_digest = std::move(digest);
    return r;
  };
  ASSERT_TRUE(store->append(asked("propose acme")).ok());
  ASSERT_TRUE(store->append(asked("propose acme"))->duplicate);
  const Head before = store->head().value();

  auto other = store->append(asked("propose globex"));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), Status::Code::kConflict);
  EXPECT_NE(other.status().message().find("command id reused-id was already used for another command"),
            std::string::npos) << other.status().message();
  EXPECT_EQ(store->head()->hash_hex, before.hash_hex);

  // The digest is kept with the result, across a restart; a request without one (from a
  // caller that has none, or an entry written before digests) is answered as a retry.
  store.reset();
  store = open_writer(dir.path());
  EXPECT_EQ(store->append(asked("propose globex")).status().code(), Status::Code::kConflict);
  EXPECT_TRUE(store->append(asked(""))->duplicate);
  EXPECT_EQ(store->command_result("reused-id").value()->request_digest, "propose acme");
  EXPECT_TRUE(store->command_result("reused-id", "propose acme").value()->duplicate);
  EXPECT_EQ(store->command_result("reused-id", "propose globex").status().code(), Status::Code::kConflict);
  ASSERT_TRUE(store->append(one_event("t", ExpectedVersion::Any(), "no-digest")).ok());
  AppendRequest with_digest = one_event("t", ExpectedVersion::Any(), "no-digest");
  with_digest.request_digest = "propose acme";
  EXPECT_TRUE(store->append(with_digest)->duplicate);
  EXPECT_EQ(store->head()->position, before.position + 1);
}

TEST(EventStoreTest, ConcurrentWritersOnOneStreamNeverBothWinAVersion) {
  TempDir dir;
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

TEST(EventStoreTest, ConcurrentDurableWritersAreAllAcknowledgedInOneGaplessLog) {
  TempDir dir;
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
  // batches than appends. (A store syncing once per append would have them equal.)
  const StoreStats stats = store->stats();
  EXPECT_EQ(stats.appends_committed, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_LT(stats.batches_written, stats.appends_committed);
  std::cout << "[ stats    ] " << stats.appends_committed << " durable appends in "
            << stats.batches_written << " synced batches\n";
}

TEST(EventStoreTest, BadRequestsAreRefusedWithANamedReason) {
  TempDir dir;
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

TEST(EventStoreTest, ReadAllPagesThroughTheLogInOrder) {
  TempDir dir;
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

TEST(EventStoreTest, SubscriptionCatchesUpThenFollowsNewAppends) {
  TempDir dir;
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

TEST(EventStoreTest, SubscriptionStopsOnHandlerError) {
  TempDir dir;
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

TEST(EventStoreTest, ReaderWorksBesideTheWriterAndSeesItsAppends) {
  TempDir dir;
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

TEST(EventStoreTest, SecondWriterIsToldWhoHoldsTheStore) {
  TempDir dir;
  auto writer = open_writer(dir.path());
  StoreOptions options;
  options.holder = "second";
  auto second = open_rocksdb_store(dir.path(), options);
  ASSERT_TRUE(second.status().IsBusy()) << second.status().ToString();
  const std::string& m = second.status().message();
  EXPECT_NE(m.find("pid " + std::to_string(getpid())), std::string::npos) << m;
  EXPECT_NE(m.find("certsched test"), std::string::npos) << m;
  writer.reset();
  EXPECT_TRUE(open_rocksdb_store(dir.path(), options).ok());
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
