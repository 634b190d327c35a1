#include "adapters/daemon.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "adapters/cluster_node.h"
#include "adapters/command_id.h"
#include "adapters/http/api_server.h"
#include "adapters/listener_files.h"
#include "adapters/listener_installs.h"
#include "adapters/log_line.h"
#include "adapters/mail_worker.h"
#include "adapters/scheduler.h"
#include "adapters/service_manager.h"
#include "adapters/wakeup.h"
#include "adapters/store_session.h"
#include "base/atomic_file.h"
#include "base/clock.h"

namespace certsched::adapters {
namespace {

Result<std::string> read_api_token(const std::string& store_dir) {
  CERTSCHED_ASSIGN_OR_RETURN(auto file, base::read_file_if_exists(store_dir + "/api-token"));
  if (!file.has_value()) return Status::NotFound("store " + store_dir + " has no api-token");
  std::string token = std::move(*file);
  token.resize(token.find_first_of("\r\n") == std::string::npos ? token.size() : token.find_first_of("\r\n"));
  return token;
}

void log_run(spdlog::logger& log, const TickReport& r) {
  for (const auto& id : r.activated) log.info("activated {}", id);
  for (const auto& a : r.alerts) log.info("alert raised: {}", a);
}

// A follower looks at the lease when woken by a change, and pings the watchdog meanwhile.
int64_t follower_wait_ns(const ServiceManager& manager) {
  const int64_t hour_ns = int64_t{3600} * 1'000'000'000;
  if (!manager.ping_interval()) return hour_ns;
  return std::min<int64_t>(hour_ns, std::chrono::nanoseconds(*manager.ping_interval()).count());
}

// The first failure of any of serve's threads: it stops serve, and is what serve returns.
class Failure {
 public:
  void set(const Status& st) {
    std::lock_guard<std::mutex> l(mu_);
    if (first_.ok()) first_ = st;
  }
  Status get() {
    std::lock_guard<std::mutex> l(mu_);
    return first_;
  }

 private:
  std::mutex mu_;
  Status first_;
};

}  // namespace

Status run_daemon(const DaemonOptions& o) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // inherited by every thread started below

  // The lock's holder names the API, so that a command refused for the lock can be sent
  // to it with --server instead.
  const std::string scheme = o.tls_cert_file.empty() ? "http" : "https";
  const std::string api_url = scheme + "://" + o.address + ":" + std::to_string(o.port);
  CERTSCHED_ASSIGN_OR_RETURN(
      auto session,
      open_store_session(o.store_dir, true, o.port == 0 ? "certsched serve" : "certsched serve, API on " + api_url));
  // Set when serve stops: mail being sent and reload commands running are abandoned.
  std::atomic<bool> abandon{false};
  const CallLimits mail_limits{o.smtp_timeout, &abandon};
  FileListenerInstaller installer({o.reload_timeout, &abandon});
  Scheduler scheduler(*session->engine, session->outbox, installer, mail_limits);
  // The API, the scheduler loop, the mail worker and the listener installs take turns with
  // the engine and the read models it feeds, each for the time of a command: none holds it
  // during a slow call.
  std::mutex engine_mu;
  Wakeup loop_wakeup;
  // On a clustered store, one node at a time schedules; the others serve the API and wait
  // to take over. The loop wakes whenever this node gains or loses the role.
  auto lease = session->store->elect_scheduler(node_name(o.store_dir), [&] { loop_wakeup.notify(); });
  CERTSCHED_ASSIGN_OR_RETURN(std::string token, read_api_token(o.store_dir));
  auto api = http::ApiServer::start(
      {o.address, o.port, token, o.store_dir, o.tls_cert_file, o.tls_key_file, session->store.get(), &session->outbox,
       &installer, o.allow_remote_reload_command, session->projections.get(), lease.get()},
      [&](const std::function<void(domain::Engine&)>& work) {
        std::lock_guard<std::mutex> l(engine_mu);
        work(*session->engine);
      });
  domain::secure_wipe(token);
  if (!api.ok()) return api.status();
  auto log = spdlog::default_logger();
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  log->info("serving store {} (pid {}), HTTP API on {}://{}:{}", o.store_dir, getpid(), scheme, o.address,
            (*api)->port());
  const ServiceManager manager;
  const auto catch_up = session->store->head();
  manager.ready("serving store " + o.store_dir + " at position " +
                std::to_string(catch_up.ok() ? catch_up->position : 0) + ", API on " + scheme + "://" + o.address +
                ":" + std::to_string((*api)->port()));

  Failure failure;
  auto fail = [&](const Status& st) {
    failure.set(st);
    loop_wakeup.stop();
  };
  // The signal thread turns SIGTERM/SIGINT into a stop (sigwait: no signal handler).
  std::atomic<bool> signalled{false};
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    signalled = true;
    loop_wakeup.stop();
  });
  {
    MailWorker mail(*session->engine, session->outbox, engine_mu, *lease, mail_limits, fail);
    ListenerInstalls installs(*session->engine, engine_mu, installer, {o.reload_timeout, &abandon},
                              [&] { loop_wakeup.notify(); }, fail);
    // New events may bring new due instants, and new mail: the loop looks, and wakes the
    // mail worker only when mail is due (waking it for every event slows activations).
    auto head = session->store->head();
    auto subscription = session->store->subscribe(head.ok() ? head->position : 0, [&](const auto&) {
      loop_wakeup.notify();
      return Status::Ok();
    });

    uint64_t runs = 0;
    std::string role;
    bool unreachable = false;
    for (;;) {
      const std::string problem = lease->unreachable();
      if (lease->role() != role || problem.empty() == unreachable) {
        role = lease->role();
        unreachable = !problem.empty();
        if (unreachable) {
          log->warn("cannot reach the database, so this node does not schedule until it can: {}", one_line(problem));
        } else if (role == "leader") {
          log->info("this node schedules now (leader epoch {})", lease->epoch());
        } else if (role == "follower") {
          log->info("another node schedules; this node serves the API and waits to take over");
        }
      }
      if (!lease->leads()) {
        manager.watchdog();
        if (!loop_wakeup.sleep_for_ns(follower_wait_ns(manager))) break;
        continue;
      }
      // One command id per run: each run is a command of its own.
      const domain::CommandContext ctx{new_command_id(), "scheduler", base::now_ns(), lease->epoch()};
      std::unique_lock<std::mutex> engine_lock(engine_mu);
      std::vector<domain::Listener> due_installs;
      auto r = scheduler.record_due(ctx, due_installs);
      Status started;
      for (const domain::Listener l : due_installs) {
        Status st = installs.start(l, install_step(ctx, l));
        // The install could not be prepared (its sealed key unreadable): said, and tried
        // again on the next run, as tick does; anything else stops serve.
        if (st.IsIOError()) log->warn("{}", one_line(st.message()));
        else if (started.ok()) started = st;
      }
      auto next = scheduler.next_due_ns(base::now_ns());
      auto mail_due = scheduler.mail_due(base::now_ns());
      engine_lock.unlock();
      const Status run_status = !r.ok()         ? r.status()
                                : !started.ok() ? started
                                : !next.ok()    ? next.status()
                                                : mail_due.status();
      if (lease->shared() && run_status.IsIOError()) {
        // The database is away (a failover, a restart): this run is tried again, on
        // whichever server is the primary by then.
        log->warn("{}", one_line(run_status.message()));
        if (!loop_wakeup.sleep_for_ns(1'000'000'000)) break;
        continue;
      }
      if (eventstore::fenced(run_status)) {
        // Another node took over while this one was paused or cut off: nothing of this run
        // was recorded, and this node stops scheduling at once.
        log->warn("{}", one_line(run_status.message()));
        lease->step_down();
        continue;
      }
      if (!run_status.ok()) {
        fail(run_status);
        break;
      }
      log_run(*log, r.value());
      if (mail_due.value()) mail.wake();
      ++runs;
      // Pinged from the loop itself: a loop wedged in a run stops pinging, and is restarted.
      manager.watchdog();
      // Sleep exactly until the next due instant (measured on the system clock, which may be
      // faked in tests), or until a new event or a stop arrives. Nothing polls.
      int64_t wait_ns =
          next.value() == 0 ? int64_t{3600} * 1'000'000'000 : std::max<int64_t>(next.value() - base::now_ns(), 0);
      if (manager.ping_interval()) {
        wait_ns = std::min<int64_t>(wait_ns, std::chrono::nanoseconds(*manager.ping_interval()).count());
      }
      if (!loop_wakeup.sleep_for_ns(wait_ns)) break;
    }
    manager.stopping();
    log->info("stopping after {} scheduler runs", runs);
    abandon = true;
    subscription.reset();
  }  // joins the mail worker and the installs, which the abandon ends at once
  api->reset();  // finishes requests in flight: no acknowledged command is lost
  if (!signalled) kill(getpid(), SIGTERM);  // release the signal thread
  signal_thread.join();
  const Status stopped_by = failure.get();
  if (!stopped_by.ok()) log->error("{}", one_line(stopped_by.message()));
  return stopped_by;
}

}  // namespace certsched::adapters
