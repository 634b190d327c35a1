// The API's setup commands: certificates and partners, so that onboarding needs no stop of
// serve. The same validation as the CLI's (the engine's), and the same answers.
#include <optional>

#include "adapters/http/api_call.h"
#include "adapters/json_fields.h"
#include "adapters/setup_json.h"
#include "projections/views.h"

namespace certsched::http {

Reply post_certificate(const ApiCall& call) {
  auto c = adapters::import_from_json(call.body);
  if (!c.ok()) return from_status(c.status());
  Reply reply = call.with_engine([&](domain::Engine& e, const domain::DomainState&) {
    auto r = e.import_certificate(c.value(), call.command);
    if (!r.ok()) return from_status(r.status());
    return Reply{200, projections::imported_certificate_json(e.known_state(), c->alias, r.value())};
  });
  domain::secure_wipe(c->password);
  if (c->key_bytes) domain::secure_wipe(*c->key_bytes);
  if (c->pkcs12_bytes) domain::secure_wipe(*c->pkcs12_bytes);
  return reply;
}

Reply post_partner(const ApiCall& call) {
  auto c = adapters::add_partner_from_json(call.body);
  if (!c.ok()) return from_status(c.status());
  return call.with_engine([&](domain::Engine& e, const domain::DomainState&) {
    auto r = e.add_partner(c.value(), call.command);
    if (!r.ok()) return from_status(r.status());
    nlohmann::json j = projections::partner_answer_json(e.known_state(), c->id);
    j["warnings"] = r->warnings;
    return Reply{200, j};
  });
}

Reply patch_partner(const ApiCall& call) {
  auto c = adapters::update_partner_from_json(call.params[0], call.body);
  if (!c.ok()) return from_status(c.status());
  return call.with_engine([&](domain::Engine& e, const domain::DomainState&) {
    auto r = e.update_partner(c.value(), call.command);
    if (!r.ok()) return from_status(r.status());
    nlohmann::json j = projections::partner_answer_json(e.known_state(), c->id);
    j["warnings"] = r->warnings;
    j["notes"] = r->notes;
    return Reply{200, j};
  });
}

namespace {

// A removal's body: {"reason"} (the engine refuses an empty one, naming it).
Result<std::string> removal_reason(const ApiCall& call) {
  std::string reason;
  adapters::JsonFields f(call.body);
  f.only({"reason"});
  f.optional("reason", reason);
  if (!f.ok()) return f.status();
  return reason;
}

}  // namespace

Reply delete_partner(const ApiCall& call) {
  auto reason = removal_reason(call);
  if (!reason.ok()) return from_status(reason.status());
  const std::string& id = call.params[0];
  return call.with_engine([&](domain::Engine& e, const domain::DomainState&) {
    auto r = e.remove_partner(id, reason.value(), call.command);
    if (!r.ok()) return from_status(r.status());
    return Reply{200, projections::removed_partner_json(*e.known_state().removed_partner(id))};
  });
}

Reply delete_certificate(const ApiCall& call) {
  auto reason = removal_reason(call);
  if (!reason.ok()) return from_status(reason.status());
  const std::string& alias = call.params[0];
  return call.with_engine([&](domain::Engine& e, const domain::DomainState&) {
    auto r = e.remove_certificate(alias, reason.value(), call.command);
    if (!r.ok()) return from_status(r.status());
    return Reply{200, projections::removed_certificate_json(*e.known_state().removed_certificate(alias), r.value())};
  });
}

// The listener's certificate, and its directory and reload command (omitted: as they are).
// The certificate's files are installed, and the reload command run, without the engine's
// lock: other requests and the scheduler go on meanwhile.
Reply put_listener(const ApiCall& call) {
  const auto lid = domain::parse_listener(call.params[0]);
  if (!lid) return error(404, "not_found", "listener '" + call.params[0] + "' is not one of HTTP, FTP, OFTP, SSHFTP");
  domain::ConfigureListenerCommand c{*lid, "", "", ""};
  adapters::JsonFields f(call.body);
  f.only({"cert", "dir", "reload_command"});
  f.required("cert", c.alias);
  f.optional("dir", c.dir);
  f.optional("reload_command", c.reload_command);
  if (!f.ok()) return from_status(f.status());
  const bool sets_reload = call.body.contains("reload_command") && !c.reload_command.empty();
  if (sets_reload && !call.context.allow_remote_reload_command && !from_loopback(call.request.peer)) {
    return error(403, "forbidden",
                 "a reload command is a shell command that serve runs: set it from the serve host (loopback), or "
                 "start serve with --allow-remote-reload-command");
  }
  if (!call.context.installer) return error(500, "io_error", "this server installs no listener files");
  std::optional<domain::ListenerInstall> request;
  Reply refused = call.with_engine([&](domain::Engine& e, const domain::DomainState& s) {
    if (const domain::ListenerRecord* existing = s.listener(*lid)) {
      if (c.dir.empty()) c.dir = existing->dir;
      if (!call.body.contains("reload_command")) c.reload_command = existing->reload_command;
    }
    if (c.dir.empty()) return from_status(Status::InvalidArgument("give the listener's certificate directory (\"dir\")"));
    auto prepared = e.prepare_listener_configure(c, call.command.now_ns);
    if (!prepared.ok()) return from_status(prepared.status());
    request = std::move(prepared.value());
    return Reply{};
  });
  if (!request) return refused;
  const Status installed = call.context.installer->install(*request);
  if (!installed.ok()) {
    return from_status(Status::InvalidArgument(std::string("listener ") + to_string(*lid) + ": installing " + c.alias +
                                               " failed, nothing was changed: " + installed.message()));
  }
  return call.with_engine([&](domain::Engine& e, const domain::DomainState&) {
    auto r = e.record_listener_configure(c, call.command);
    if (!r.ok()) return from_status(r.status());
    const domain::DomainState& s = e.known_state();
    nlohmann::json j = projections::listener_json(s, *s.listener(*lid), call.command.now_ns);
    j["warnings"] = r->warnings;
    return Reply{200, j};
  });
}

}  // namespace certsched::http
