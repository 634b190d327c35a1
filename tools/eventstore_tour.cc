// A working tour of the event store, run by the README's main job: durable appends from
// one writer and from sixteen (group commit), a multi-stream atomic append, an idempotent
// retry, a refused stale write, a subscription catching up, and a verified chain.
// Usage: eventstore_tour STORE_DIR
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "eventstore/event_store.h"

using namespace certsched::eventstore;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void die(const certsched::Status& st) {
  std::fprintf(stderr, "eventstore_tour: %s\n", st.ToString().c_str());
  std::exit(1);
}

AppendRequest tick(const std::string& stream, uint64_t expected, const std::string& id) {
  AppendRequest req;
  req.writes.push_back({stream, ExpectedVersion::Exactly(expected), {{"TourTick", 1, std::string(200, 'x')}}});
  req.command_id = id;
  req.actor = "tour";
  return req;
}

double durable_appends_per_second(EventStore& store, int writers, int per_writer) {
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      const std::string stream = "w" + std::to_string(writers) + "-" + std::to_string(w);
      for (int i = 0; i < per_writer; ++i) {
        auto r = store.append(tick(stream, i, stream + "-" + std::to_string(i)));
        if (!r.ok()) die(r.status());
      }
    });
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  return writers * per_writer / secs;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: eventstore_tour STORE_DIR\n");
    return 2;
  }
  StoreOptions options;
  options.create_if_missing = true;
  options.holder = "eventstore_tour";
  auto opened = open_rocksdb_store(argv[1], options);
  if (!opened.ok()) die(opened.status());
  EventStore& store = **opened;

  const double one = durable_appends_per_second(store, 1, 300);
  const StoreStats before = store.stats();
  const double sixteen = durable_appends_per_second(store, 16, 100);
  const StoreStats after = store.stats();
  std::printf("durable appends, 1 writer:    %8.0f/s (one WAL sync each)\n", one);
  std::printf("durable appends, 16 writers:  %8.0f/s (group commit: %.1fx; %llu appends in %llu "
              "synced batches)\n",
              sixteen, sixteen / one,
              (unsigned long long)(after.appends_committed - before.appends_committed),
              (unsigned long long)(after.batches_written - before.batches_written));

  AppendRequest proposal;
  proposal.command_id = "tour-proposal";
  proposal.actor = "tour";
  proposal.correlation_id = "proposal-1";
  for (const char* s : {"schedule-acme-signing", "schedule-acme-encryption", "schedule-globex-signing"}) {
    proposal.writes.push_back({s, ExpectedVersion::NoStream(), {{"TourProposed", 1, s}}});
  }
  auto first = store.append(proposal);
  if (!first.ok()) die(first.status());
  auto retry = store.append(proposal);
  if (!retry.ok()) die(retry.status());
  std::printf("one atomic append over 3 streams: positions %llu..%llu; retried with the same "
              "command id: %s, same positions %llu..%llu\n",
              (unsigned long long)first->first_position, (unsigned long long)first->last_position,
              retry->duplicate ? "applied once" : "APPLIED TWICE",
              (unsigned long long)retry->first_position, (unsigned long long)retry->last_position);

  auto stale = store.append(tick("schedule-acme-signing", 0, "tour-stale"));
  std::printf("stale write refused: %s\n", stale.ok() ? "NO" : stale.status().message().c_str());

  uint64_t seen = 0;
  {
    auto sub = store.subscribe(0, [&](const std::vector<RecordedEvent>& batch) {
      seen += batch.size();
      return certsched::Status::Ok();
    });
    const uint64_t head = store.head()->position;
    while (sub->position() < head) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::printf("subscription caught up with %llu events\n", (unsigned long long)seen);

  auto report = store.verify();
  if (!report.ok()) die(report.status());
  std::printf("verify: %s, %llu events, head hash %s\n", report->verified ? "ok" : "FAILED",
              (unsigned long long)report->events, report->head_hash_hex.c_str());
  return report->verified ? 0 : 4;
}
