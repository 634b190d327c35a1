// One API request on its way through the route table (api_routes.cc): its path parameters
// and query (percent-decoded), its JSON body, its command context, and the replies the
// handlers build. Internal to adapters/http/.
#pragma once

#ifndef CERTSCHED_INTERNAL_HTTP
#error "adapters/http/api_call.h is internal to adapters/http/ (tests may look inside)"
#endif

#include <functional>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "adapters/http/api_routes.h"
#include "domain/commands.h"
#include "domain/engine.h"

namespace certsched::http {

struct Reply {
  Reply() = default;
  Reply(unsigned s, nlohmann::json b) : status(s), body(std::move(b)) {}
  unsigned status = 200;
  nlohmann::json body;
  std::optional<std::string> text;  // instead of JSON: the answer as it is (the metrics)
  std::string content_type = "application/json";
};

Reply error(unsigned status, const std::string& code, const std::string& message);
// The HTTP status of a refused command: 400 bad input, 404 unknown id, 409 conflict or busy;
// 500 for the rest, whose code ("corruption", "io_error") the CLI maps back to its exit code.
Reply from_status(const Status& st);

struct ApiCall {
  const ApiRequest& request;
  const ApiContext& context;
  std::vector<std::string> params;           // the {...} segments of the route, in order
  std::map<std::string, std::string> query;  // percent-decoded
  nlohmann::json body = nlohmann::json::object();
  domain::CommandContext command;

  const std::string* query_value(const std::string& name) const {
    auto it = query.find(name);
    return it == query.end() ? nullptr : &it->second;
  }
  // Runs `f` on the engine (under serve's lock) with its state caught up.
  Reply with_engine(const std::function<Reply(domain::Engine&, const domain::DomainState&)>& f) const;
};

// The answer to a command that created or moved schedules.
Reply schedules_reply(const domain::DomainState& s, const domain::CommandResult& r);

// Handlers, by route (api_routes.cc lists them).
Reply get_health(const ApiCall& call);
Reply get_partners(const ApiCall& call);
Reply get_partner(const ApiCall& call);
Reply get_listeners(const ApiCall& call);
Reply get_schedules(const ApiCall& call);
Reply get_audit(const ApiCall& call);
Reply get_replay(const ApiCall& call);
Reply get_report(const ApiCall& call);
Reply get_options(const ApiCall& call);
Reply get_metrics(const ApiCall& call);
Reply put_options(const ApiCall& call);
Reply post_proposal(const ApiCall& call);
Reply post_confirm(const ApiCall& call);
Reply post_decline(const ApiCall& call);
Reply post_cancel(const ApiCall& call);
Reply post_skip_email(const ApiCall& call);
Reply post_observation(const ApiCall& call);
Reply post_certificate(const ApiCall& call);
Reply post_partner(const ApiCall& call);
Reply get_certificates(const ApiCall& call);
Reply patch_partner(const ApiCall& call);
Reply delete_partner(const ApiCall& call);
Reply delete_certificate(const ApiCall& call);
Reply post_backup(const ApiCall& call);

// Whether the client is on this host (what may name paths and commands of serve's host).
bool from_loopback(const std::string& peer);
Reply put_listener(const ApiCall& call);

}  // namespace certsched::http
