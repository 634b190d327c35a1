// Figures 1-4: appends through certsched's event store against raw RocksDB puts.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <stdexcept>

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

// certsched's side of a figure: one store, kept open from round to round.
class Appender {
 public:
  Appender(const std::string& dir, bool sync, size_t payload_bytes)
      : store_(fresh_store(dir, sync)), payload_(payload_bytes, 'p') {}

  // `threads` writers sharing the store, each making `per_thread` appends of `events`
  // events. Returns the seconds taken.
  double appends(int threads, size_t per_thread, size_t events) {
    return seconds_of_writers(threads, per_thread, [&] {
      if (!store_->append(request(next_++, events, payload_)).ok()) {
        throw std::runtime_error("an append failed during the benchmark");
      }
    });
  }

  double appends_per_sync() const {
    const eventstore::StoreStats s = store_->stats();
    return s.batches_written ? double(s.appends_committed) / s.batches_written : 0;
  }

 private:
  std::unique_ptr<eventstore::EventStore> store_;
  std::string payload_;
  std::atomic<uint64_t> next_{0};
};

struct Rates {
  double ours = 0, raw = 0;  // per second
  // Appends (certsched) or puts (raw) per WAL write, and so per sync when synced.
  double ours_per_write = 0, raw_per_write = 0;
};

// One figure's rounds: certsched and raw RocksDB each in a fresh directory, removed after.
// `ours` and `raw` run one round on their side and return its seconds.
Rates interleaved(const std::string& dir, bool sync, int rounds, double per_round,
                  const std::function<double(Appender&)>& ours, const std::function<double(raw::Writer&)>& raw,
                  size_t payload_bytes) {
  Rates r;
  {
    Appender appender(dir + "-certsched", sync, payload_bytes);
    raw::Writer writer(dir + "-raw", payload_bytes);
    std::tie(r.ours, r.raw) = rates_of_interleaved_rounds(rounds, per_round, [&] { return ours(appender); },
                                                          [&] { return raw(writer); });
    r.ours_per_write = appender.appends_per_sync();
    r.raw_per_write = writer.writes_per_group();
  }
  std::filesystem::remove_all(dir + "-certsched");
  std::filesystem::remove_all(dir + "-raw");
  return r;
}

Figure figure(std::string name, std::string what, std::string baseline_what, const Rates& r, double target) {
  Figure f;
  f.name = std::move(name);
  f.what = std::move(what);
  f.baseline_what = std::move(baseline_what);
  f.value = r.ours;
  f.baseline = r.raw;
  f.target = target;
  f.unit = "events/s";
  char note[128];
  std::snprintf(note, sizeof note, "appends per WAL write: certsched %.1f, raw %.1f", r.ours_per_write,
                r.raw_per_write);
  f.notes.push_back(note);
  return f;
}

}  // namespace

std::vector<Figure> append_figures(const Context& c) {
  const Scale& s = c.scale;
  const std::string d = c.work_dir + "/appends";
  const size_t v = s.payload_bytes;
  std::vector<Figure> out;

  const int r = s.append_rounds;
  const size_t one = std::max<size_t>(1, s.synced_appends / r);
  Rates rates = interleaved(
      d + "-synced-1", true, r, one, [&](Appender& a) { return a.appends(1, one, 1); },
      [&](raw::Writer& w) { return w.single_puts(1, one, true); }, v);
  out.push_back(figure("durable_append_1_writer", "one writer, one event per synced append", "synced single puts",
                       rates, 0.8));

  const size_t per_writer = std::max<size_t>(1, s.synced_per_writer / r);
  rates = interleaved(
      d + "-synced-n", true, r, double(s.writers) * per_writer,
      [&](Appender& a) { return a.appends(s.writers, per_writer, 1); },
      [&](raw::Writer& w) { return w.single_puts(s.writers, per_writer, true); }, v);
  out.push_back(figure("durable_append_16_writers",
                       std::to_string(s.writers) + " concurrent writers, synced, through group commit",
                       std::to_string(s.writers) + " threads of synced single puts", rates, 1.5));

  const size_t unsynced = std::max<size_t>(1, s.unsynced_appends / r);
  rates = interleaved(
      d + "-unsynced-1", false, r, unsynced, [&](Appender& a) { return a.appends(1, unsynced, 1); },
      [&](raw::Writer& w) { return w.single_puts(1, unsynced, false); }, v);
  out.push_back(figure("unsynced_append_single", "one event per append, WAL not synced",
                       "single-put WriteBatches, unsynced", rates, 0.35));

  const size_t batches = std::max<size_t>(1, s.batches / r);
  rates = interleaved(
      d + "-unsynced-100", false, r, batches * 100.0, [&](Appender& a) { return a.appends(1, batches, 100); },
      [&](raw::Writer& w) { return w.batched_puts(batches, 100); }, v);
  out.push_back(figure("unsynced_append_batch_100", "100 events per append, WAL not synced",
                       "WriteBatches of 100 puts, unsynced", rates, 0.5));
  for (Figure& f : out) {
    f.notes.push_back("payload and raw value: " + std::to_string(v) + " bytes; " + std::to_string(r) +
                      " alternating rounds a side, one store each kept open");
  }
  return out;
}

}  // namespace certsched::bench
