// certsched replay: walks the log. With --verify it checks framing, checksums, positions,
// stream versions and the hash chain, and names the first bad position (exit 4).
// Without it, it lists the events in order. Read-only: works beside a running writer.
#include <iostream>
#include <sstream>

#include "adapters/cli/commands.h"
#include "domain/event_codec.h"
#include "domain/instant.h"
#include "projections/views.h"
#include "replay/point_in_time.h"
#include "replay/rebuild.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>

namespace certsched::cli {
namespace {

struct ReplayArgs {
  bool verify = false;
  bool events = false;
  std::string as_of;
  uint64_t position = 0;
};

Result<std::unique_ptr<eventstore::EventStore>> open_reader(const GlobalOptions& g) {
  eventstore::StoreOptions options;
  options.mode = eventstore::OpenMode::kReadOnly;
  return eventstore::open_store(g.store_dir, options);
}

int run_verify(const GlobalOptions& g, eventstore::EventStore& store) {
  auto report = store.verify();
  if (!report.ok()) return report_error(g, report.status());
  const eventstore::VerifyReport& r = report.value();
  nlohmann::json j = {{"events", r.events},
                      {"head_hash", r.head_hash_hex},
                      {"verified", r.verified},
                      {"first_bad_position", nullptr}};
  std::ostringstream text;
  if (r.verified) {
    text << "Verified " << r.events << " events; head hash " << r.head_hash_hex << "\n";
  } else {
    j["first_bad_position"] = *r.first_bad_position;
    j["problem"] = r.problem;
    text << "NOT VERIFIED: first bad position " << *r.first_bad_position << ": " << r.problem
         << "\n";
    std::cerr << "certsched: integrity failure at position " << *r.first_bad_position << ": "
              << r.problem << "\n";
  }
  print_result(g, j, text.str());
  return r.verified ? kExitOk : kExitIntegrity;
}

int run_list(const GlobalOptions& g, eventstore::EventStore& store) {
  nlohmann::json all = nlohmann::json::array();
  std::ostringstream text;
  text << "POSITION  TIME                  STREAM                    VERSION  TYPE                    ACTOR\n";
  uint64_t next = 1;
  for (;;) {
    auto batch = store.read_all(next, 4096);
    if (!batch.ok()) return report_error(g, batch.status());
    if (batch->empty()) break;
    for (const auto& e : batch.value()) {
      auto decoded = domain::decode_event(e);
      if (!decoded.ok()) return report_error(g, decoded.status());
      all.push_back({{"position", e.position},
                     {"time", domain::format_instant(e.time_ns)},
                     {"stream", e.stream},
                     {"version", e.stream_version},
                     {"type", e.type},
                     {"actor", e.actor},
                     {"command_id", e.command_id},
                     {"correlation_id", e.correlation_id}});
      char line[512];
      std::snprintf(line, sizeof line, "%8llu  %-20s  %-24s  %7llu  %-22s  %s\n",
                    static_cast<unsigned long long>(e.position), domain::format_instant(e.time_ns).c_str(),
                    e.stream.c_str(), static_cast<unsigned long long>(e.stream_version),
                    e.type.c_str(), e.actor.c_str());
      text << line;
    }
    next = batch->back().position + 1;
  }
  print_result(g, all, text.str());
  return kExitOk;
}

// Every partner's current and pending certificates as they were at a position or instant.
int run_point_in_time(const GlobalOptions& g, eventstore::EventStore& store, const ReplayArgs& a) {
  int64_t as_of = 0;
  if (!a.as_of.empty()) {
    auto t = domain::parse_instant_or_now(a.as_of, context(g).now_ns);
    if (!t.ok()) return report_error(g, Status::InvalidArgument("--as-of: " + t.status().message()));
    as_of = t.value();
  }
  auto then = replay::state_at(store, a.position, as_of);
  if (!then.ok()) return report_error(g, then.status());
  nlohmann::json partners = nlohmann::json::array();
  std::ostringstream text;
  text << "As of " << (a.as_of.empty() ? "position " + std::to_string(a.position) : domain::format_instant(as_of)) << " (after event "
       << then->position << "):\n";
  for (const auto& [id, p] : then->state->partners()) {
    partners.push_back(projections::partner_json(*then->state, p));
    text << "  " << id << "\n";
    for (uint8_t r = 0; r < domain::kRoleCount; ++r) {
      const std::string role = domain::to_string(static_cast<domain::Role>(r));
      if (p.current[r]) text << "    " << role << ": " << p.current[r]->alias << " (" << p.current[r]->fingerprint << ")\n";
      if (const auto* s = then->state->open_schedule(id, static_cast<domain::Role>(r))) {
        text << "    " << role << " pending: " << s->proposed.alias << " (" << s->proposed.schedule_id << ", "
             << statemachines::to_string(s->state()) << ")\n";
      }
    }
  }
  auto head = store.head();
  if (!head.ok()) return report_error(g, head.status());
  nlohmann::json j = {{"events", then->position}, {"head_hash", head->hash_hex}, {"position", then->position},
                      {"as_of", a.as_of.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.as_of)},
                      {"partners", partners}};
  int code = kExitOk;
  if (a.verify) {
    auto report = store.verify();
    if (!report.ok()) return report_error(g, report.status());
    j["verified"] = report->verified;
    j["first_bad_position"] = report->first_bad_position ? nlohmann::json(*report->first_bad_position) : nlohmann::json(nullptr);
    text << (report->verified ? "The chain verifies.\n" : "NOT VERIFIED: " + report->problem + "\n");
    if (!report->verified) code = kExitIntegrity;
  }
  print_result(g, j, text.str());
  return code;
}

// On a terminal, a progress line with rate and ETA; elsewhere, silence.
class ProgressMeter {
 public:
  ProgressMeter() : enabled_(isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()) {}
  ~ProgressMeter() { finish(); }
  // Ends the progress line, so that what is printed next starts on a line of its own.
  void finish() {
    if (enabled_ && shown_) std::cerr << "\n";
    shown_ = false;
  }
  void operator()(uint64_t done, uint64_t total) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100) && done != total) return;
    last_ = now;
    shown_ = true;
    const double secs = std::max(1e-3, std::chrono::duration<double>(now - start_).count());
    const double rate = done / secs;
    const int width = 30;
    const int filled = total ? static_cast<int>(width * done / total) : width;
    char line[160];
    std::snprintf(line, sizeof line, "\rreplay [%s%s] %llu/%llu events  %.0f/s  ETA %.0fs ",
                  std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                  static_cast<unsigned long long>(done), static_cast<unsigned long long>(total), rate,
                  rate > 0 ? (total - done) / rate : 0.0);
    std::cerr << line << std::flush;
  }

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_, last_{};
};

// Rebuilds every projection from position 0 and compares it with the live ones. With
// --verify the same walk checks the chain; a broken chain is reported instead.
int run_rebuild(const GlobalOptions& g, eventstore::EventStore& store, bool verify) {
  ProgressMeter meter;
  auto report = replay::rebuild_and_compare(store, g.store_dir, [&](uint64_t d, uint64_t t) { meter(d, t); }, verify);
  meter.finish();
  if (!report.ok()) return report_error(g, report.status());
  if (verify && !report->verification->verified) return run_verify(g, store);
  auto head = store.head();
  if (!head.ok()) return report_error(g, head.status());
  nlohmann::json projections = nlohmann::json::object();
  std::ostringstream text;
  text << "Replayed " << report->events << " events into fresh projections";
  if (!report->live_found) {
    text << "; the store has no live projections to compare with yet\n";
  } else {
    text << " and compared them with the live ones (at position " << report->live_position << "):\n";
    for (const auto& p : report->projections) {
      projections[p.projection] = p.equal ? "equal" : "differs: " + p.first_difference;
      text << "  " << p.projection << ": " << (p.equal ? "equal" : "DIFFERS: " + p.first_difference) << "\n";
    }
  }
  nlohmann::json j = {{"events", report->events}, {"head_hash", head->hash_hex}, {"deterministic", report->deterministic()},
                      {"projections", projections}};
  int code = report->deterministic() ? kExitOk : kExitIntegrity;
  if (!report->deterministic()) std::cerr << "certsched: determinism failure: the rebuilt projections differ from the live ones\n";
  if (verify) {
    const eventstore::VerifyReport* v = &*report->verification;
    j["verified"] = v->verified;
    j["first_bad_position"] = v->first_bad_position ? nlohmann::json(*v->first_bad_position) : nlohmann::json(nullptr);
    text << (v->verified ? "Verified " + std::to_string(v->events) + " events; head hash " + v->head_hash_hex + "\n"
                         : "NOT VERIFIED: first bad position " + std::to_string(*v->first_bad_position) + ": " + v->problem + "\n");
    if (!v->verified) code = kExitIntegrity;
  }
  print_result(g, j, text.str());
  return code;
}

}  // namespace

void add_replay_command(CLI::App& app, GlobalOptions& g, CommandRunner& run) {
  auto args = std::make_shared<ReplayArgs>();
  CLI::App* cmd = app.add_subcommand(
      "replay", "rebuild every projection from the log and compare with the live ones; --verify checks the chain");
  cmd->footer("Examples:\n  certsched replay --verify\n  certsched replay --as-of 2027-01-15T00:00:00Z\n"
              "  certsched replay --events");
  cmd->add_flag("--events", args->events, "list the events in order instead");
  cmd->add_flag("--verify", args->verify,
                "verify checksums and the hash chain; exit 4 naming the first bad position");
  auto* as_of = cmd->add_option("--as-of", args->as_of, "partners' certificates as they were at this instant")
                    ->option_text("INSTANT");
  cmd->add_option("--position", args->position, "partners' certificates as they were after this event")
      ->option_text("N")
      ->excludes(as_of);
  cmd->callback([&g, &run, args] {
    run = [&g, args] {
      auto store = open_reader(g);
      if (!store.ok()) return report_error(g, store.status());
      if (!args->as_of.empty() || args->position != 0) return run_point_in_time(g, **store, *args);
      if (args->events) return run_list(g, **store);
      if (args->verify && !std::filesystem::exists(g.store_dir + "/projections/CURRENT")) return run_verify(g, **store);
      return run_rebuild(g, **store, args->verify);
    };
  });
}

}  // namespace certsched::cli
