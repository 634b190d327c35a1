// certsched listener configure | show
#include <sstream>

#include "adapters/cli/commands.h"
#include "base/clock.h"
#include "adapters/cli/remote.h"
#include "projections/views.h"
#include "adapters/cli/session.h"
#include "adapters/listener_files.h"

namespace certsched::cli {
namespace {

using namespace projections;

struct ConfigureArgs {
  std::string listener, cert, dir, reload_command;
  bool reload_given = false;
};

std::string listener_text(const nlohmann::json& l) {
  std::ostringstream t;
  t << "Listener " << l["listener"].get<std::string>() << " (" << l["dir"].get<std::string>() << ")\n";
  if (!l["current"].is_null()) t << "  current  " << l["current"]["alias"].get<std::string>() << "  " << l["current"]["fingerprint"].get<std::string>() << "\n";
  if (!l["pending"].is_null()) {
    const auto& p = l["pending"];
    t << "  pending  " << p["alias"].get<std::string>() << "  (proposal " << p["proposal"].get<std::string>() << ")";
    if (p["blocked_by"].empty()) t << ", installs at " << p["activate_at"].get<std::string>() << "\n";
    else t << ", blocked by:\n";
    for (const auto& why : p["blocked_because"]) t << "    " << why.get<std::string>() << "\n";
  }
  if (l.contains("last_error")) t << "  last install failed: " << l["last_error"].get<std::string>() << "\n";
  return t.str();
}

void print_configured(const GlobalOptions& g, const nlohmann::json& j) {
  const std::string reload = j["reload_command"].get<std::string>();
  print_result(g, j, "Configured " + listener_text(j) + "  wrote cert.pem and key.pem (0600)" +
                         (reload.empty() ? "\n" : " and ran: " + reload + "\n"));
}

int run_configure(const GlobalOptions& g, const ConfigureArgs& a) {
  auto lid = domain::parse_listener(a.listener);
  if (!lid) return fail(g, Status::InvalidArgument("listener '" + a.listener + "' is not one of HTTP, FTP, OFTP, SSHFTP"));
  if (!g.server.empty()) {
    nlohmann::json body = {{"cert", a.cert}};
    if (!a.dir.empty()) body["dir"] = a.dir;
    if (a.reload_given) body["reload_command"] = a.reload_command;
    auto r = remote_call(g, "PUT", "/v1/listeners/" + a.listener, body);
    if (!r.ok()) return fail(g, r.status());
    print_configured(g, r.value());
    return kExitOk;
  }
  auto session = open_session(g, true, "certsched listener configure");
  if (!session.ok()) return fail(g, session.status());
  const auto* existing = (*session)->state().listener(*lid);
  domain::ConfigureListenerCommand c{*lid, a.cert, a.dir, a.reload_command};
  if (c.dir.empty() && existing) c.dir = existing->dir;
  if (!a.reload_given && existing) c.reload_command = existing->reload_command;
  if (c.dir.empty()) return fail(g, Status::InvalidArgument("give the listener's certificate directory with --dir DIR"));
  adapters::FileListenerInstaller installer;
  auto r = (*session)->engine->configure_listener(c, context(g), &installer);
  if (!r.ok()) return fail(g, r.status());
  auto j = listener_json((*session)->state(), *(*session)->state().listener(*lid), base::now_ns());
  j["warnings"] = r->warnings;
  print_configured(g, j);
  return kExitOk;
}

int run_show(const GlobalOptions& g, const std::string& name) {
  if (!g.server.empty()) {
    auto remote = remote_call(g, "GET", "/v1/listeners");
    if (!remote.ok()) return fail(g, remote.status());
    nlohmann::json all = nlohmann::json::array();
    std::string text;
    for (const auto& l : remote.value()) {
      if (!name.empty() && l["listener"] != name) continue;
      all.push_back(l);
      text += listener_text(l);
    }
    print_result(g, all, text.empty() ? "No listener is configured.\n" : text);
    return kExitOk;
  }
  auto session = open_session(g, false, "");
  if (!session.ok()) return fail(g, session.status());
  nlohmann::json all = nlohmann::json::array();
  std::string text;
  for (uint8_t li = 0; li < domain::kListenerCount; ++li) {
    const auto lid = static_cast<domain::Listener>(li);
    if (!name.empty() && name != domain::to_string(lid)) continue;
    const auto* l = (*session)->state().listener(lid);
    if (!l) continue;
    all.push_back(listener_json((*session)->state(), *l, base::now_ns()));
    text += listener_text(all.back());
  }
  if (!name.empty() && all.empty()) {
    if (!domain::parse_listener(name)) return fail(g, Status::InvalidArgument("listener '" + name + "' is not one of HTTP, FTP, OFTP, SSHFTP"));
    return fail(g, Status::NotFound("listener " + name + " is not configured"));
  }
  print_result(g, all, text.empty() ? "No listener is configured (certsched listener configure).\n" : text);
  return kExitOk;
}

}  // namespace

void add_listener_commands(CLI::App& app, GlobalOptions& g, CommandRunner& run) {
  CLI::App* listener = app.add_subcommand("listener", "configure and show listeners' server certificates");
  listener->require_subcommand(1);
  auto a = std::make_shared<ConfigureArgs>();
  CLI::App* conf = listener->add_subcommand("configure", "set a listener's certificate, directory and reload command");
  conf->footer("Example: certsched listener configure HTTP --cert tls-2026 --dir /etc/nginx/certsched "
               "--reload-command 'systemctl reload nginx'");
  conf->add_option("LISTENER", a->listener, "HTTP|FTP|OFTP|SSHFTP")->required();
  conf->add_option("--cert", a->cert, "the server certificate (a local certificate)")->required()->option_text("ALIAS");
  conf->add_option("--dir", a->dir, "directory that receives cert.pem and key.pem")->option_text("DIR");
  conf->add_option("--reload-command", a->reload_command, "run through /bin/sh -c after each install")
      ->option_text("CMD")
      ->each([a](const std::string&) { a->reload_given = true; });
  conf->callback([&g, &run, a] { run = [&g, a] { return run_configure(g, *a); }; });

  auto name = std::make_shared<std::string>();
  CLI::App* show = listener->add_subcommand("show", "current and pending server certificates, and who blocks them");
  show->add_option("LISTENER", *name, "HTTP|FTP|OFTP|SSHFTP");
  show->footer("Example: certsched listener show HTTP");
  show->callback([&g, &run, name] { run = [&g, name] { return run_show(g, *name); }; });
}

}  // namespace certsched::cli
