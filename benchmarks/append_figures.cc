// Figures 1-4: appends through certsched's event store against raw RocksDB puts.
#include <atomic>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <thread>

#include "benchmarks/figures.h"
#include "benchmarks/raw_rocksdb.h"
#include "eventstore/event_store.h"

namespace certsched::bench {
namespace {

std::unique_ptr<eventstore::EventStore> fresh_store(const std::string& dir, bool sync) {
  eventstore::StoreOptions o;
  o.create_if_missing = true;
  o.sync = sync;
  o.holder = "certsched-bench";
  auto s = eventstore::open_rocksdb_store(dir, o);
  if (!s.ok()) throw std::runtime_error(s.status().message());
  return std::move(s).value();
}

// One command appending `events` events to a partner-like stream.
eventstore::AppendRequest request(uint64_t n, size_t events, const std::string& payload) {
  eventstore::AppendRequest r;
  eventstore::StreamWrite w{"partner-" + std::to_string(n % 1000), eventstore::ExpectedVersion::Any(), {}};
  for (size_t i = 0; i < events; ++i) w.events.push_back({"BenchEvent", 1, payload});
  r.writes.push_back(std::move(w));
  r.command_id = "bench-" + std::to_string(n);
  r.actor = "bench";
  return r;
}

// Appends/s (or events/s with events > 1) from `threads` writers sharing one store.
double certsched_appends(const std::string& dir, bool sync, int threads, size_t per_thread, size_t events,
                         const Scale& s) {
  auto store = fresh_store(dir, sync);
  const std::string payload(s.payload_bytes, 'p');
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  Stopwatch clock;
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t) {
    writers.emplace_back([&] {
      for (size_t i = 0; i < per_thread; ++i) {
        if (!store->append(request(next++, events, payload)).ok()) failed = true;
      }
    });
  }
  for (auto& w : writers) w.join();
  const double seconds = clock.seconds();
  if (failed) throw std::runtime_error("an append failed during the benchmark");
  return double(threads) * per_thread * events / seconds;
}

Figure figure(std::string name, std::string what, std::string baseline_what, double value, double baseline,
              double target, std::string unit = "events/s") {
  Figure f;
  f.name = std::move(name);
  f.what = std::move(what);
  f.baseline_what = std::move(baseline_what);
  f.value = value;
  f.baseline = baseline;
  f.target = target;
  f.unit = std::move(unit);
  return f;
}

// Each run in fresh directories, removed after it.
std::pair<double, double> alternate(const std::function<double(const std::string&)>& ours,
                                    const std::function<double(const std::string&)>& raw, const std::string& dir) {
  auto in_fresh = [&](const std::function<double(const std::string&)>& side, const char* suffix) {
    return [&side, &dir, suffix](int run) {
      const std::string where = dir + "-" + std::to_string(run) + suffix;
      const double value = side(where);
      std::filesystem::remove_all(where);
      return value;
    };
  };
  return median_of_alternating(in_fresh(ours, "-certsched"), in_fresh(raw, "-raw"));
}

}  // namespace

std::vector<Figure> append_figures(const Context& c) {
  const Scale& s = c.scale;
  const std::string d = c.work_dir + "/appends";
  const size_t v = s.payload_bytes;
  std::vector<Figure> out;

  auto [ours, raw] = alternate([&](const std::string& dir) { return certsched_appends(dir, true, 1, s.synced_appends, 1, s); },
                               [&](const std::string& dir) { return raw::single_puts(dir, 1, s.synced_appends, v, true); },
                               d + "-synced-1");
  out.push_back(figure("durable_append_1_writer", "one writer, one event per synced append", "synced single puts",
                       ours, raw, 0.8));

  std::tie(ours, raw) = alternate(
      [&](const std::string& dir) { return certsched_appends(dir, true, s.writers, s.synced_per_writer, 1, s); },
      [&](const std::string& dir) { return raw::single_puts(dir, s.writers, s.synced_per_writer, v, true); },
      d + "-synced-n");
  out.push_back(figure("durable_append_16_writers",
                       std::to_string(s.writers) + " concurrent writers, synced, through group commit",
                       std::to_string(s.writers) + " threads of synced single puts", ours, raw, 1.5));

  std::tie(ours, raw) = alternate(
      [&](const std::string& dir) { return certsched_appends(dir, false, 1, s.unsynced_appends, 1, s); },
      [&](const std::string& dir) { return raw::single_puts(dir, 1, s.unsynced_appends, v, false); },
      d + "-unsynced-1");
  out.push_back(figure("unsynced_append_single", "one event per append, WAL not synced",
                       "single-put WriteBatches, unsynced", ours, raw, 0.35));

  std::tie(ours, raw) = alternate(
      [&](const std::string& dir) { return certsched_appends(dir, false, 1, s.batches, 100, s); },
      [&](const std::string& dir) { return raw::batched_puts(dir, s.batches, 100, v); }, d + "-unsynced-100");
  out.push_back(figure("unsynced_append_batch_100", "100 events per append, WAL not synced",
                       "WriteBatches of 100 puts, unsynced", ours, raw, 0.5));
  for (Figure& f : out) {
    f.notes.push_back("payload and raw value: " + std::to_string(v) + " bytes; median of 3 alternating runs each");
  }
  return out;
}

}  // namespace certsched::bench
