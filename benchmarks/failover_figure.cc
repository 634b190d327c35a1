// Figure 13: how long a clustered store goes without a scheduler. Two `serve` nodes run on
// one PostgreSQL database; just before a schedule falls due the leader is killed with
// kill -9, and the figure is the time from the kill to the activation the new leader
// records (the median of several failovers, the nodes taking turns). Its baseline is the
// floor of any election on a PostgreSQL lock: a raw session waiting in pg_advisory_lock()
// for a lock held by a process that is killed.
#include <libpq-fe.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <stdexcept>
#include <thread>

#include "base/clock.h"
#include "benchmarks/figures.h"
#include "domain/instant.h"
#include "eventstore/event_store.h"
#include "tests/cert_factory.h"
#include "tests/cli_runner.h"
#include "tests/http_client.h"
#include "tests/servers.h"

extern char** environ;

namespace certsched::bench {
namespace {

using testing::StoreCli;

constexpr int64_t kSecond = 1'000'000'000;

nlohmann::json must_run(const StoreCli& node, const std::vector<std::string>& args) {
  const testing::CliResult r = node.run(args);
  if (r.exit_code != 0) throw std::runtime_error("certsched " + args[0] + " failed: " + r.err);
  return nlohmann::json::parse(r.out, nullptr, false);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The leader row's node names its serve's pid: "HOST:DIR (pid N)".
pid_t leader_pid(PGconn* c) {
  PGresult* r = PQexec(c, "SELECT node FROM certsched.leader WHERE id = 1");
  pid_t pid = 0;
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
    const std::string node = PQgetvalue(r, 0, 0);
    const size_t at = node.rfind("(pid ");
    if (at != std::string::npos) pid = static_cast<pid_t>(std::stol(node.substr(at + 5)));
  }
  PQclear(r);
  return pid;
}

// The baseline: psql takes an advisory lock and waits for its next line, as serve's
// election session waits; a session waiting for the lock gets it once psql is killed and
// the server sees its connection close.
double raw_lock_handover_seconds(const std::string& uri) {
  const std::string psql = "/usr/lib/postgresql/15/bin/psql";
  int input[2];
  if (pipe(input) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, input[0], 0);
  posix_spawn_file_actions_addclose(&actions, input[1]);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  std::vector<const char*> argv{psql.c_str(), uri.c_str(), "-q", nullptr};
  pid_t holder = -1;
  const int spawned =
      posix_spawn(&holder, psql.c_str(), &actions, nullptr, const_cast<char* const*>(argv.data()), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(input[0]);
  if (spawned != 0) throw std::runtime_error("cannot run " + psql);
  const std::string lock = "SELECT pg_advisory_lock(42);\n";
  if (write(input[1], lock.data(), lock.size()) != static_cast<ssize_t>(lock.size())) {
    throw std::runtime_error("cannot write to psql");
  }
  PGconn* waiter = PQconnectdb(uri.c_str());
  auto held = [&] {
    PGresult* r = PQexec(waiter, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted");
    const bool one = PQresultStatus(r) == PGRES_TUPLES_OK && std::string(PQgetvalue(r, 0, 0)) == "1";
    PQclear(r);
    return one;
  };
  for (int i = 0; i < 1000 && !held(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto taken = std::async(std::launch::async, [&] {
    PGresult* r = PQexec(waiter, "SELECT pg_advisory_lock(42)");
    const auto at = std::chrono::steady_clock::now();
    PQclear(r);
    return at;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the waiter is queued by now
  const auto killed = std::chrono::steady_clock::now();
  kill(holder, SIGKILL);
  const double seconds = std::chrono::duration<double>(taken.get() - killed).count();
  waitpid(holder, nullptr, 0);
  close(input[1]);
  PQfinish(waiter);  // and its lock with it
  return seconds;
}

}  // namespace

Figure failover_figure(const Context& c) {
  testing::PostgresServer server;
  server.start();
  const std::string uri = server.create_database("failover");
  const std::string dir = c.work_dir + "/failover";
  const int failovers = c.scale.failovers;
  // Each failover needs the nodes settled before its schedule falls due: the follower
  // elected, the killed node back as a follower.
  const int64_t gap = 8 * kSecond;

  std::filesystem::create_directories(dir + "/certs");
  testing::CertFactory certs(dir + "/certs");
  const testing::CertFiles partner_cert = certs.make(testing::CertSpec("partner-new"));
  std::vector<StoreCli> node{StoreCli(dir + "/a"), StoreCli(dir + "/b")};
  must_run(node[0], {"init", "--admin-email", "pki@example.com", "--backend", uri});
  must_run(node[0], {"cert", "import", "--alias", "partner-new", "--cert", partner_cert.cert_pem, "--partner-cert"});
  must_run(node[1], {"join", "--backend", uri, "--store-key", dir + "/a/store.key"});
  // Far enough ahead for the commands below (a fraction of a second each) and two serves' start.
  const int64_t first_due = (base::now_ns() / kSecond + 8 + failovers) * kSecond;
  std::vector<std::pair<std::string, int64_t>> schedules;  // id, due
  for (int i = 0; i < failovers; ++i) {
    const std::string p = "p" + std::to_string(i);
    must_run(node[0], {"partner", "add", "--id", p, "--protocol", "AS2", "--email", p + "@example.com"});
    const int64_t due = first_due + i * gap;
    auto proposed = must_run(node[0], {"schedule", "propose", "--partners", p, "--role",
                                       "partner-signing=partner-new", "--at", domain::format_instant(due)});
    must_run(node[0], {"schedule", "confirm", proposed["proposal"]});
    schedules.emplace_back(proposed["schedules"][0]["id"].get<std::string>(), due);
  }

  std::vector<testing::ServeProcess> serves(2);
  auto start = [&](int i) {
    serves[i] = testing::start_serve(node[i].store(), dir + "/serve" + std::to_string(i) + ".log");
    if (!serves[i].ready) throw std::runtime_error("serve did not start on node " + std::to_string(i));
  };
  PGconn* watch = PQconnectdb(uri.c_str());
  if (PQstatus(watch) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(watch));
  start(0);
  start(1);
  eventstore::StoreOptions read_only;
  read_only.mode = eventstore::OpenMode::kReadOnly;
  auto log = eventstore::open_postgres_store(uri, "", read_only);
  if (!log.ok()) throw std::runtime_error(log.status().message());
  uint64_t next = 1;

  std::vector<double> failover_s;
  for (const auto& [schedule, due] : schedules) {
    if (base::now_ns() > due - kSecond) throw std::runtime_error("the nodes were not settled before " + schedule + " fell due");
    int leader = -1;
    while (leader < 0 && base::now_ns() < due - 100'000'000) {
      const pid_t pid = leader_pid(watch);
      for (int i = 0; i < 2; ++i) leader = serves[i].pid == pid ? i : leader;
      if (leader < 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (leader < 0) throw std::runtime_error("no serve node led before " + schedule + " fell due");
    std::this_thread::sleep_for(std::chrono::nanoseconds(due - 50'000'000 - base::now_ns()));
    const int64_t killed = base::now_ns();
    kill(serves[leader].pid, SIGKILL);
    waitpid(serves[leader].pid, nullptr, 0);
    int64_t activated = 0;
    while (activated == 0 && base::now_ns() < killed + 30 * kSecond) {
      auto batch = (*log)->read_all(next, 1024);
      if (!batch.ok()) throw std::runtime_error(batch.status().message());
      for (const auto& r : *batch) {
        next = r.position + 1;
        if (r.type == "ScheduleActivated" && r.stream == "schedule-" + schedule) activated = r.time_ns;
      }
      if (batch->empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (activated == 0) throw std::runtime_error(schedule + " was not activated within 30 s of the leader's kill");
    if (activated < killed) throw std::runtime_error(schedule + " was activated before the leader was killed");
    failover_s.push_back(double(activated - killed) / kSecond);
    start(leader);  // back as a follower
  }
  for (auto& s : serves) testing::stop_serve(s);
  PQfinish(watch);

  std::vector<double> raw_s;
  for (int i = 0; i < failovers; ++i) raw_s.push_back(raw_lock_handover_seconds(uri));

  Figure f;
  f.name = "pg_failover_seconds";
  f.what = "clustered store: leader serve killed (kill -9) -> first activation by the new leader, median of " +
           std::to_string(failovers);
  f.baseline_what = "raw libpq session waiting in pg_advisory_lock() until the killed holder's lock is released";
  f.value = median(failover_s);
  f.baseline = median(raw_s);
  f.unit = "s";
  f.target_kind = Figure::Target::kValueAtMost;
  f.target = 10;
  std::string each;
  for (double s : failover_s) each += (each.empty() ? "" : ", ") + std::to_string(s).substr(0, 5);
  f.notes.push_back("each failover (s): " + each);
  return f;
}

}  // namespace certsched::bench
