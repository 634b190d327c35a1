// Figure 8: `certsched serve` as a separate process, with schedules falling due at spread
// instants; a reader follows the log and notes when each activation becomes visible.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <thread>

#include "benchmarks/figures.h"
#include "base/clock.h"
#include "benchmarks/population.h"
#include "domain/event_codec.h"

namespace certsched::bench {
namespace {

pid_t start_serve(const std::string& binary, const std::string& dir) {
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string log = dir + "/../serve.log";
    FILE* out = std::freopen(log.c_str(), "w", stdout);
    if (out) dup2(fileno(stdout), STDERR_FILENO);
    execl(binary.c_str(), binary.c_str(), "--store", dir.c_str(), "serve", "--listen", "127.0.0.1:0",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
  return v[i];
}

}  // namespace

Figure serve_latency_figure(const Context& c) {
  const std::string dir = c.work_dir + "/serve/store";
  const size_t n = c.scale.serve_schedules;
  const int64_t spread_ns = static_cast<int64_t>(c.scale.serve_spread_s * 1e9);
  // Far enough ahead for the setup below (about a millisecond per command here).
  const int64_t first_due = base::now_ns() + int64_t{2'000'000'000} + int64_t(n) * 3'000'000;
  {
    CertMinter minter;
    Population setup(dir, false, true);
    setup.seed(n, false, minter);
    setup.import_partner_cert("partner-b", minter);
    for (size_t i = 0; i < n; ++i) {
      domain::ProposeCommand p;
      p.partners = {"p" + std::to_string(i)};
      p.roles = {{domain::Role::kPartnerSigning, "partner-b"}};
      p.activate_at_ns = first_due + spread_ns * int64_t(i) / int64_t(n);
      const auto r = must(setup.engine().propose(p, setup.ctx()), "propose");
      must(setup.engine().confirm(r.proposal_id, setup.ctx()), "confirm");
    }
    std::ofstream(dir + "/api-token") << "bench-token\n";
    chmod((dir + "/api-token").c_str(), 0600);
  }
  if (base::now_ns() > first_due - 500'000'000) throw std::runtime_error("setup ran past the first due instant");

  const pid_t serve = start_serve(c.certsched_binary, dir);
  eventstore::StoreOptions o;
  o.mode = eventstore::OpenMode::kReadOnly;
  auto store = must(eventstore::open_rocksdb_store(dir, o), "open read-only");
  std::map<std::string, int64_t> due;  // schedule stream -> due instant
  std::vector<double> seen_ms, recorded_ms;
  const int64_t give_up = first_due + spread_ns + int64_t{30'000'000'000};
  uint64_t next = 1;
  while (seen_ms.size() < n && base::now_ns() < give_up) {
    if (Status st = store->refresh(); !st.ok()) throw std::runtime_error("refresh: " + st.message());
    const auto batch = must(store->read_all(next, 4096), "read");
    const int64_t now = base::now_ns();
    for (const auto& r : batch) {
      next = r.position + 1;
      if (r.type == "ScheduleProposed") {
        const auto e = must(domain::decode_event(r), "decode");
        due[r.stream] = std::get<domain::ScheduleProposed>(e).activate_at_ns;
      } else if (r.type == "ScheduleActivated" && due.count(r.stream)) {
        seen_ms.push_back((now - due[r.stream]) / 1e6);
        recorded_ms.push_back((r.time_ns - due[r.stream]) / 1e6);
      }
    }
    if (batch.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  kill(serve, SIGTERM);
  int status = 0;
  waitpid(serve, &status, 0);
  if (seen_ms.size() < n) {
    throw std::runtime_error("serve activated " + std::to_string(seen_ms.size()) + " of " + std::to_string(n) +
                             " schedules; see " + c.work_dir + "/serve/serve.log");
  }

  Figure f;
  f.name = "serve_activation_p99";
  f.what = std::to_string(n) + " schedules due over " + std::to_string(int(c.scale.serve_spread_s)) +
           " s; latency from the due instant until a reader sees the activation in the log";
  f.value = percentile(seen_ms, 0.99);
  f.unit = "ms";
  f.target_kind = Figure::Target::kValueAtMost;
  f.target = 1000;
  char note[200];
  std::snprintf(note, sizeof note, "median %.1f ms, p99 %.1f ms, max %.1f ms (seen by a reader polling every 2 ms)",
                percentile(seen_ms, 0.5), f.value, percentile(seen_ms, 1.0));
  f.notes.push_back(note);
  std::snprintf(note, sizeof note, "event time stamped by serve: median %.1f ms, p99 %.1f ms after the due instant",
                percentile(recorded_ms, 0.5), percentile(recorded_ms, 0.99));
  f.notes.push_back(note);
  return f;
}

}  // namespace certsched::bench
