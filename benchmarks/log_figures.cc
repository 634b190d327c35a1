// Figures 5 and 6: a long, realistic log (partners rotated round after round through the
// engine) replayed and verified, and its projections rebuilt, against raw RocksDB reading
// (and, for the rebuild, writing) the same records.
#include <cstdio>
#include <filesystem>
#include <tuple>

#include "benchmarks/figures.h"
#include "benchmarks/population.h"
#include "benchmarks/raw_rocksdb.h"
#include "domain/event_codec.h"

namespace certsched::bench {
namespace {

// Rotates every partner between partner-a and partner-b until the log holds `events`:
// propose (one schedule each), confirm, activate. With the full scale's 50,000 partners
// that is four rotations each, about what four years bring.
uint64_t build_log(const std::string& dir, const Scale& s) {
  CertMinter minter;
  Population pop(dir, false, false);
  pop.seed(s.log_partners, false, minter);
  pop.import_partner_cert("partner-b", minter);
  std::vector<std::string> partners;
  for (size_t i = 0; i < s.log_partners; ++i) partners.push_back("p" + std::to_string(i));
  for (int round = 1;; ++round) {
    const uint64_t head = must(pop.store().head(), "head").position;
    if (head >= s.log_events) return head;
    domain::ProposeCommand p;
    p.partners = partners;
    p.roles = {{domain::Role::kPartnerSigning, round % 2 ? "partner-b" : "partner-a"}};
    const auto proposed = must(pop.engine().propose(p, pop.ctx()), "propose");
    must(pop.engine().confirm(proposed.proposal_id, pop.ctx()), "confirm");
    must(pop.engine().activate_due(pop.ctx()), "activate");
  }
}

std::unique_ptr<eventstore::EventStore> read_only(const std::string& dir) {
  eventstore::StoreOptions o;
  o.mode = eventstore::OpenMode::kReadOnly;
  return must(eventstore::open_rocksdb_store(dir, o), "open read-only");
}

}  // namespace

std::vector<Figure> log_figures(const Context& c) {
  const std::string dir = c.work_dir + "/log";
  Stopwatch build;
  const uint64_t events = build_log(dir, c.scale);
  {
    // As in a store that has run for a while, the records are in SST files, not only in the
    // write-ahead log (a read-write open flushes what it recovers).
    eventstore::StoreOptions o;
    o.holder = "certsched-bench";
    must(eventstore::open_rocksdb_store(dir, o), "reopen the store");
  }
  const double build_s = build.seconds();
  std::fprintf(stderr, "certsched-bench: built a log of %llu events in %.0f s\n", static_cast<unsigned long long>(events),
               build_s);
  std::vector<Figure> out;

  // Warms the page cache for both sides alike.
  size_t raw_entries = 0;
  raw::iterate(dir + "/events", "log", &raw_entries);
  // The raw side walks the same log entries, some of which hold a run of several events: its
  // rate is counted in the events those entries hold, so that both sides are timed over the
  // same work.
  const double events_per_entry = raw_entries ? double(events) / double(raw_entries) : 1.0;
  const std::string entries_note = "the raw side reads the " + std::to_string(raw_entries) +
                                   " log entries that hold the " + std::to_string(events) +
                                   " events; its rate is given in those events";

  // certsched reads, hashes and decodes on a second thread while it applies; the raw side
  // is one thread of ours (RocksDB may add its own). How many cores each run kept busy is
  // printed beside the figure.
  std::vector<double> cores, raw_cores;
  auto busy = [](const Stopwatch& clock, double seconds, std::vector<double>* into) {
    into->push_back(clock.cpu_seconds() / seconds);
  };
  auto cores_note = [&] {
    std::string note = "cores busy (CPU time / wall time) per run: certsched";
    for (double c : cores) note += " " + std::to_string(c).substr(0, 4);
    note += ", raw";
    for (double c : raw_cores) note += " " + std::to_string(c).substr(0, 4);
    cores.clear();
    raw_cores.clear();
    return note;
  };

  Figure replay;
  replay.name = "replay_verify_apply";
  replay.what = "replay of " + std::to_string(events) +
                " events: read, verify framing and hash chain, decode, apply through the state machines";
  replay.baseline_what = "raw iteration over the same log records";
  replay.unit = "events/s";
  replay.target = 0.3;
  std::tie(replay.value, replay.baseline) = median_of_alternating(
      [&](int) {
        auto store = read_only(dir);
        domain::DomainState state;
        Stopwatch clock;
        // One walk: each record is verified, then decoded and applied.
        const auto report = must(store->verify([&](const eventstore::RecordedEvent& r) {
          auto event = domain::decode_event(r);
          return event.ok() ? state.apply(r, event.value()) : event.status();
        }), "verify");
        const double seconds = clock.seconds();
        busy(clock, seconds, &cores);
        if (!report.verified) throw std::runtime_error("the benchmark log does not verify: " + report.problem);
        return double(state.position()) / seconds;
      },
      [&](int) {
        Stopwatch clock;
        const double value = raw::iterate(dir + "/events", "log", &raw_entries) * events_per_entry;
        busy(clock, clock.seconds(), &raw_cores);
        return value;
      });
  replay.notes.push_back("median of " + std::to_string(kAlternatingRuns) + " alternating runs each");
  replay.notes.push_back(entries_note);
  replay.notes.push_back(cores_note());
  replay.notes.push_back("log built through the engine in " + std::to_string(int(build_s)) + " s (" +
                         std::to_string(c.scale.log_partners) + " partners rotated round after round)");
  out.push_back(replay);

  Figure rebuild;
  rebuild.name = "projection_rebuild";
  rebuild.what = "all five projections (and the outbox) rebuilt from " + std::to_string(events) + " events";
  rebuild.baseline_what = "raw read of the same records + batched write of each into a fresh database";
  rebuild.unit = "events/s";
  rebuild.target = 0.4;
  std::tie(rebuild.value, rebuild.baseline) = median_of_alternating(
      [&](int run) {
        auto store = read_only(dir);
        const std::string scratch = c.work_dir + "/rebuild-certsched-" + std::to_string(run);
        std::filesystem::create_directories(scratch);
        projections::NotificationOutbox outbox;
        Stopwatch clock;
        auto projections = must(projections::ProjectionStore::open(scratch, false, &outbox), "open projections");
        auto engine = must(domain::Engine::open(*store, scratch, {&outbox, projections.get()}), "rebuild");
        const double seconds = clock.seconds();
        busy(clock, seconds, &cores);
        const double value = double(projections->applied_events()) / seconds;
        engine.reset();
        projections.reset();
        std::filesystem::remove_all(scratch);
        return value;
      },
      [&](int run) {
        const std::string scratch = c.work_dir + "/rebuild-raw-" + std::to_string(run);
        Stopwatch clock;
        const double value = raw::copy_batched(dir + "/events", "log", scratch, 1000) * events_per_entry;
        busy(clock, clock.seconds(), &raw_cores);
        std::filesystem::remove_all(scratch);
        return value;
      });
  rebuild.notes.push_back("median of " + std::to_string(kAlternatingRuns) + " alternating runs each");
  rebuild.notes.push_back(entries_note);
  rebuild.notes.push_back(cores_note());
  out.push_back(rebuild);
  std::filesystem::remove_all(dir);
  return out;
}

}  // namespace certsched::bench
