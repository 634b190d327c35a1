// certsched observe | tick | serve

#include <chrono>
#include <iostream>

#include "adapters/command_id.h"
#include "adapters/cli/commands.h"
#include "adapters/cluster_node.h"
#include "base/clock.h"
#include "adapters/cli/remote.h"
#include "projections/views.h"
#include "adapters/cli/session.h"
#include "adapters/first_usage.h"
#include "adapters/daemon.h"
#include "adapters/listener_files.h"
#include "adapters/scheduler.h"
#include "domain/instant.h"

namespace certsched::cli {
namespace {

using namespace projections;

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
  auto r = adapters::observe_message(*(*session)->engine, partner, message.value(), context(g));
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

// How long one slow call may take: `tick` and `serve` share the options.
struct CallTimeouts {
  int smtp_seconds = 60;
  int reload_seconds = 60;
};

void add_timeout_options(CLI::App* command, CallTimeouts& t) {
  command->add_option("--smtp-timeout", t.smtp_seconds, "seconds one SMTP send may take before it is retried later")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600))
      ->option_text("SECONDS");
  command->add_option("--reload-timeout", t.reload_seconds,
                      "seconds a listener's reload command may run before it is killed and the install retried later")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600))
      ->option_text("SECONDS");
}

int run_tick(const GlobalOptions& g, const CallTimeouts& t) {
  auto session = open_session(g, true, "certsched tick");
  if (!session.ok()) return fail(g, session.status());
  // One scheduler at a time: on a clustered store tick takes the role for its run, under
  // an epoch of its own (so its appends are fenced like a leader's), and is refused while
  // a node's `serve` holds it.
  auto lease = (*session)->store->elect_scheduler(adapters::node_name(g.store_dir) + " tick", [] {});
  if (!lease->leads()) {
    const std::string unreachable = lease->unreachable();
    if (!unreachable.empty()) return fail(g, Status::IOError("cannot reach the store's database: " + unreachable));
    return fail(g, Status::Conflict("another node's `serve` schedules this clustered store now and runs what is due "
                                    "itself; tick ran nothing"));
  }
  domain::CommandContext ctx = context(g);
  ctx.leader_epoch = lease->epoch();
  adapters::FileListenerInstaller installer({std::chrono::seconds(t.reload_seconds)});
  adapters::Scheduler scheduler(*(*session)->engine, (*session)->outbox, installer, {std::chrono::seconds(t.smtp_seconds)});
  auto r = scheduler.run_once(ctx);
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
  CallTimeouts timeouts;
  bool allow_remote_reload_command = false;
};

int run_serve(const GlobalOptions& g, const ServeArgs& a) {
  auto endpoint = parse_listen(a.listen);
  if (!endpoint.ok()) return fail(g, endpoint.status());
  adapters::DaemonOptions o;
  o.store_dir = g.store_dir;
  o.address = endpoint->first;
  o.port = endpoint->second;
  o.tls_cert_file = a.tls_cert;
  o.tls_key_file = a.tls_key;
  o.smtp_timeout = std::chrono::seconds(a.timeouts.smtp_seconds);
  o.reload_timeout = std::chrono::seconds(a.timeouts.reload_seconds);
  o.allow_remote_reload_command = a.allow_remote_reload_command;
  const Status stopped = adapters::run_daemon(o);
  return stopped.ok() ? kExitOk : fail(g, stopped);
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
  auto timeouts = std::make_shared<CallTimeouts>();
  add_timeout_options(tick, *timeouts);
  tick->callback([&g, &run, timeouts] { run = [&g, timeouts] { return run_tick(g, *timeouts); }; });

  auto sa = std::make_shared<ServeArgs>();
  CLI::App* serve = app.add_subcommand("serve", "run the scheduler and the HTTP API until SIGTERM");
  serve->footer("Example: certsched --store /var/lib/certsched serve --listen 127.0.0.1:8640\n"
                "  curl -H \"Authorization: Bearer $(cat /var/lib/certsched/api-token)\" http://127.0.0.1:8640/v1/partners");
  serve->add_option("--listen", sa->listen, "address and port of the HTTP API (loopback by default)")
      ->capture_default_str()
      ->option_text("ADDRESS:PORT");
  serve->add_option("--tls-cert", sa->tls_cert, "serve the API over HTTPS with this certificate (chain) file")->option_text("FILE");
  serve->add_option("--tls-key", sa->tls_key, "the unencrypted PEM key of --tls-cert")->option_text("FILE");
  add_timeout_options(serve, sa->timeouts);
  serve->add_flag("--allow-remote-reload-command", sa->allow_remote_reload_command,
                  "let API clients beyond loopback set a listener's reload command, a shell command serve runs "
                  "(by default only loopback clients may)");
  serve->callback([&g, &run, sa] { run = [&g, sa] { return run_serve(g, *sa); }; });
}

}  // namespace certsched::cli
