#include "adapters/daemon.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "adapters/command_id.h"
#include "adapters/http/api_server.h"
#include "adapters/listener_files.h"
#include "adapters/scheduler.h"
#include "adapters/service_manager.h"
#include "adapters/store_session.h"
#include "base/atomic_file.h"
#include "base/clock.h"

namespace certsched::adapters {
namespace {

// Set by SIGTERM/SIGINT through a dedicated thread (sigwait), never in a signal handler;
// `wake` by new events, which may bring new due instants.
struct Wakeups {
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  bool wake = false;
};

std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

Result<std::string> read_api_token(const std::string& store_dir) {
  CERTSCHED_ASSIGN_OR_RETURN(auto file, base::read_file_if_exists(store_dir + "/api-token"));
  if (!file.has_value()) return Status::NotFound("store " + store_dir + " has no api-token");
  std::string token = std::move(*file);
  token.resize(token.find_first_of("\r\n") == std::string::npos ? token.size() : token.find_first_of("\r\n"));
  return token;
}

void log_run(spdlog::logger& log, const TickReport& r) {
  for (const auto& id : r.activated) log.info("activated {}", id);
  for (const auto& l : r.installed) log.info("installed the new server certificate on listener {}", l);
  for (const auto& e : r.install_errors) log.warn("{}", one_line(e));
  for (const auto& a : r.alerts) log.info("alert raised: {}", a);
  if (r.mail.delivered) log.info("{} notifications delivered", r.mail.delivered);
  for (const auto& e : r.mail.errors) log.warn("{}", one_line(e));
}

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
  FileListenerInstaller installer;
  Scheduler scheduler(*session->engine, session->outbox, installer);
  // The API and the scheduler take turns with the engine and the read models it feeds; the
  // scheduler lets go of it while it sends mail.
  std::mutex engine_mu;
  scheduler.share_engine_lock(&engine_mu);
  CERTSCHED_ASSIGN_OR_RETURN(std::string token, read_api_token(o.store_dir));
  auto api = http::ApiServer::start(
      {o.address, o.port, token, o.store_dir, o.tls_cert_file, o.tls_key_file, session->store.get(), &session->outbox},
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
  Wakeups wakeups;
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::lock_guard<std::mutex> l(wakeups.mu);
    wakeups.stop = true;
    wakeups.cv.notify_all();
  });
  auto head = session->store->head();
  auto subscription = session->store->subscribe(head.ok() ? head->position : 0, [&](const auto&) {
    std::lock_guard<std::mutex> l(wakeups.mu);
    wakeups.wake = true;
    wakeups.cv.notify_all();
    return Status::Ok();
  });

  Status stopped_by;
  uint64_t runs = 0;
  for (;;) {
    // One command id per run: each run is a command of its own.
    const domain::CommandContext ctx{new_command_id(), "scheduler", base::now_ns()};
    auto r = scheduler.run_once(ctx);
    if (!r.ok()) {
      log->error("{}", one_line(r.status().message()));
      stopped_by = r.status();
      break;
    }
    log_run(*log, r.value());
    ++runs;
    // Pinged from the loop itself: a loop wedged in a run stops pinging, and is restarted.
    manager.watchdog();
    std::unique_lock<std::mutex> engine_lock(engine_mu);
    auto next = scheduler.next_due_ns(base::now_ns());
    engine_lock.unlock();
    if (!next.ok()) {
      stopped_by = next.status();
      break;
    }
    // Sleep exactly until the next due instant (measured on the system clock, which may be
    // faked in tests), or until a new event or a stop signal arrives. Nothing polls.
    int64_t wait_ns =
        next.value() == 0 ? int64_t{3600} * 1'000'000'000 : std::max<int64_t>(next.value() - base::now_ns(), 0);
    if (manager.ping_interval()) {
      wait_ns = std::min<int64_t>(wait_ns, std::chrono::nanoseconds(*manager.ping_interval()).count());
    }
    std::unique_lock<std::mutex> l(wakeups.mu);
    wakeups.cv.wait_for(l, std::chrono::nanoseconds(wait_ns), [&] { return wakeups.stop || wakeups.wake; });
    wakeups.wake = false;
    if (wakeups.stop) break;
  }
  manager.stopping();
  log->info("stopping after {} scheduler runs", runs);
  api->reset();  // finishes requests in flight: no acknowledged command is lost
  subscription.reset();
  if (!wakeups.stop) kill(getpid(), SIGTERM);  // release the signal thread
  signal_thread.join();
  return stopped_by;
}

}  // namespace certsched::adapters
