// certsched observe | tick | serve
#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>

#include "adapters/cli/commands.h"
#include "base/clock.h"
#include "adapters/cli/remote.h"
#include "projections/views.h"
#include "adapters/cli/session.h"
#include "adapters/first_usage.h"
#include "adapters/http/api_server.h"
#include "adapters/listener_files.h"
#include "adapters/scheduler.h"
#include "domain/instant.h"

namespace certsched::cli {
namespace {

using namespace projections;

using Clock = std::chrono::system_clock;

std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

nlohmann::json tick_json(const adapters::TickReport& r) {
  return {{"activated", r.activated},
          {"installed", r.installed},
          {"install_errors", r.install_errors},
          {"alerts", r.alerts},
          {"mail", {{"delivered", r.mail.delivered}, {"failed", r.mail.failed}, {"errors", r.mail.errors}}}};
}

int run_observe(const GlobalOptions& g, const std::string& partner, const std::string& file) {
  auto message = read_input_file(file, "message");
  if (!message.ok()) return fail(g, message.status());
  if (!g.server.empty()) {
    auto r = remote_call(g, "POST", "/v1/observations", {{"partner", partner}, {"message", message.value()}});
    if (!r.ok()) return fail(g, r.status());
    std::string text = r->at("activated").empty() ? "The message activates no schedule.\n" : "";
    for (const auto& s : r->at("activated")) {
      text += "First usage activated " + s["id"].get<std::string>() + ": " + s["role"].get<std::string>() + " " +
              s["alias"].get<std::string>() + " is now current for " + partner + "\n";
    }
    print_result(g, {{"activated", r->at("activated")}, {"notes", r->at("notes")}}, text);
    return kExitOk;
  }
  auto session = open_session(g, true, "certsched observe");
  if (!session.ok()) return fail(g, session.status());
  auto r = adapters::observe_message(*(*session)->engine, g.store_dir, partner, message.value(), context(g));
  if (!r.ok()) return fail(g, r.status());
  nlohmann::json activated = nlohmann::json::array();
  std::string text = r->schedule_ids.empty() ? "The message activates no schedule.\n" : "";
  for (const auto& id : r->schedule_ids) {
    activated.push_back(schedule_json(*(*session)->state().schedule(id)));
    const auto& s = activated.back();
    text += "First usage activated " + s["id"].get<std::string>() + ": " + s["role"].get<std::string>() + " " +
            s["alias"].get<std::string>() + " is now current for " + partner + "\n";
  }
  for (const auto& n : r->notes) text += "note: " + n + "\n";
  print_result(g, {{"activated", activated}, {"notes", r->notes}}, text);
  return kExitOk;
}

int run_tick(const GlobalOptions& g) {
  auto session = open_session(g, true, "certsched tick");
  if (!session.ok()) return fail(g, session.status());
  adapters::FileListenerInstaller installer;
  adapters::Scheduler scheduler(*(*session)->engine, (*session)->outbox, installer);
  auto r = scheduler.run_once(context(g));
  if (!r.ok()) return fail(g, r.status());
  std::string text;
  for (const auto& id : r->activated) text += "activated " + id + "\n";
  for (const auto& l : r->installed) text += "installed the new server certificate on listener " + l + "\n";
  for (const auto& a : r->alerts) text += "alert raised: " + a + "\n";
  text += "mail: " + std::to_string(r->mail.delivered) + " delivered, " + std::to_string(r->mail.failed) + " failed\n";
  print_result(g, tick_json(r.value()), text);
  const bool failures = !r->install_errors.empty() || r->mail.failed > 0;
  for (const auto& e : r->install_errors) std::cerr << "certsched: " << e << "\n";
  for (const auto& e : r->mail.errors) std::cerr << "certsched: " << e << "\n";
  return failures ? kExitOther : kExitOk;
}

// Set by SIGTERM/SIGINT through a dedicated thread (sigwait), never in a signal handler.
struct StopSignal {
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  bool wake = false;
};

Result<std::pair<std::string, uint16_t>> parse_listen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("--listen '" + listen + "' must be ADDRESS:PORT");
  const std::string port = listen.substr(colon + 1);
  char* end = nullptr;
  const long n = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || n < 0 || n > 65535) {
    return Status::InvalidArgument("--listen '" + listen + "': the port must be 0-65535");
  }
  return std::make_pair(listen.substr(0, colon), static_cast<uint16_t>(n));
}

struct ServeArgs {
  std::string listen = "127.0.0.1:8640";
  std::string tls_cert, tls_key;
};

int run_serve(const GlobalOptions& g, const ServeArgs& a) {
  const std::string& listen = a.listen;
  auto endpoint = parse_listen(listen);
  if (!endpoint.ok()) return fail(g, endpoint.status());
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // inherited by every thread started below

  // The lock's holder names the API, so that a command refused for the lock can be sent
  // to it with --server instead.
  const std::string api_url = std::string(a.tls_cert.empty() ? "http" : "https") + "://" + listen;
  auto session = open_session(g, true, endpoint->second == 0 ? "certsched serve" : "certsched serve, API on " + api_url);
  if (!session.ok()) return fail(g, session.status());
  adapters::FileListenerInstaller installer;
  adapters::Scheduler scheduler(*(*session)->engine, (*session)->outbox, installer);
  // The API and the scheduler take turns with the engine and the read models it feeds.
  std::mutex engine_mu;
  auto token = read_input_file(g.store_dir + "/api-token", "API token");
  if (!token.ok()) return fail(g, token.status());
  std::string token_text = token.value().substr(0, token.value().find_first_of("\r\n"));
  auto api = http::ApiServer::start(
      {endpoint->first, endpoint->second, token_text, g.store_dir, a.tls_cert, a.tls_key, (*session)->store.get()},
      [&](const std::function<void(domain::Engine&)>& work) {
        std::lock_guard<std::mutex> l(engine_mu);
        work(*(*session)->engine);
      });
  domain::secure_wipe(token_text);
  if (!api.ok()) return fail(g, api.status());
  auto log = spdlog::default_logger();
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  log->info("serving store {} (pid {}), HTTP API on {}://{}:{}", g.store_dir, getpid(), a.tls_cert.empty() ? "http" : "https",
            endpoint->first, (*api)->port());
  StopSignal stop;
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::lock_guard<std::mutex> l(stop.mu);
    stop.stop = true;
    stop.cv.notify_all();
  });
  // New events (commands arriving through this process) may bring new due instants.
  auto head = (*session)->store->head();
  auto subscription = (*session)->store->subscribe(head.ok() ? head->position : 0, [&](const auto&) {
    std::lock_guard<std::mutex> l(stop.mu);
    stop.wake = true;
    stop.cv.notify_all();
    return Status::Ok();
  });

  int exit_code = kExitOk;
  uint64_t run = 0;
  for (;;) {
    domain::CommandContext ctx = context(g);
    ctx.command_id = new_command_id();  // one per run: each run is a command of its own
    ctx.actor = "scheduler";
    std::unique_lock<std::mutex> engine_lock(engine_mu);
    auto r = scheduler.run_once(ctx);
    if (!r.ok()) {
      log->error("{}", one_line(r.status().message()));
      exit_code = report_error(g, r.status());
      break;
    }
    for (const auto& id : r->activated) log->info("activated {}", id);
    for (const auto& l : r->installed) log->info("installed the new server certificate on listener {}", l);
    for (const auto& e : r->install_errors) log->warn("{}", one_line(e));
    for (const auto& a : r->alerts) log->info("alert raised: {}", a);
    if (r->mail.delivered) log->info("{} notifications delivered", r->mail.delivered);
    for (const auto& e : r->mail.errors) log->warn("{}", one_line(e));
    ++run;

    auto next = scheduler.next_due_ns(base::now_ns());
    engine_lock.unlock();
    if (!next.ok()) {
      exit_code = report_error(g, next.status());
      break;
    }
    // Sleep exactly until the next due instant (measured on the system clock, which may be
    // faked in tests), or until a new event or a stop signal arrives. Nothing polls.
    const int64_t wait_ns = next.value() == 0 ? int64_t{3600} * 1'000'000'000 : std::max<int64_t>(next.value() - base::now_ns(), 0);
    std::unique_lock<std::mutex> l(stop.mu);
    stop.cv.wait_for(l, std::chrono::nanoseconds(wait_ns), [&] { return stop.stop || stop.wake; });
    stop.wake = false;
    if (stop.stop) break;
  }
  log->info("stopping after {} scheduler runs", run);
  api->reset();  // finishes requests in flight: no acknowledged command is lost
  subscription.reset();
  if (!stop.stop) kill(getpid(), SIGTERM);  // release the signal thread
  signal_thread.join();
  return exit_code;
}

}  // namespace

void add_scheduler_commands(CLI::App& app, GlobalOptions& g, CommandRunner& run) {
  auto partner = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  CLI::App* observe = app.add_subcommand("observe", "an inbound S/MIME message from a partner, for first usage");
  observe->footer("Example: certsched observe --partner acme --message inbound.p7m");
  observe->add_option("--partner", *partner, "the partner that sent it")->required()->option_text("ID");
  observe->add_option("--message", *file, "the message as received (S/MIME text or DER)")->required()->option_text("FILE");
  observe->callback([&g, &run, partner, file] { run = [&g, partner, file] { return run_observe(g, *partner, *file); }; });

  CLI::App* tick = app.add_subcommand("tick", "run what is due once: activations, listener installs, mail");
  tick->footer("Example (cron): * * * * * certsched --store /var/lib/certsched tick");
  tick->callback([&g, &run] { run = [&g] { return run_tick(g); }; });

  auto sa = std::make_shared<ServeArgs>();
  CLI::App* serve = app.add_subcommand("serve", "run the scheduler and the HTTP API until SIGTERM");
  serve->footer("Example: certsched --store /var/lib/certsched serve --listen 127.0.0.1:8640\n"
                "  curl -H \"Authorization: Bearer $(cat /var/lib/certsched/api-token)\" http://127.0.0.1:8640/v1/partners");
  serve->add_option("--listen", sa->listen, "address and port of the HTTP API (loopback by default)")
      ->capture_default_str()
      ->option_text("ADDRESS:PORT");
  serve->add_option("--tls-cert", sa->tls_cert, "serve the API over HTTPS with this certificate (chain) file")->option_text("FILE");
  serve->add_option("--tls-key", sa->tls_key, "the unencrypted PEM key of --tls-cert")->option_text("FILE");
  serve->callback([&g, &run, sa] { run = [&g, sa] { return run_serve(g, *sa); }; });
}

}  // namespace certsched::cli
