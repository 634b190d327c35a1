#include "adapters/http/api_routes.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "adapters/command_id.h"
#include "adapters/http/api_call.h"
#include "adapters/remedies.h"
#include "base/clock.h"
#include "projections/json_text.h"

namespace certsched::http {
namespace {

using nlohmann::json;

struct Route {
  const char* method;
  const char* pattern;  // "{}" matches one path segment, handed to the handler in order
  Reply (*handler)(const ApiCall&);
};

const Route kRoutes[] = {
    {"GET", "/v1/health", get_health},
    {"GET", "/v1/partners", get_partners},
    {"GET", "/v1/partners/{}", get_partner},
    {"GET", "/v1/listeners", get_listeners},
    {"GET", "/v1/certificates", get_certificates},
    {"GET", "/v1/schedules", get_schedules},
    {"GET", "/v1/audit", get_audit},
    {"GET", "/v1/replay", get_replay},
    {"GET", "/v1/reports/{}", get_report},
    {"GET", "/v1/options", get_options},
    {"GET", "/metrics", get_metrics},
    {"PUT", "/v1/options", put_options},
    {"POST", "/v1/proposals", post_proposal},
    {"POST", "/v1/proposals/{}/confirm", post_confirm},
    {"POST", "/v1/proposals/{}/decline", post_decline},
    {"POST", "/v1/schedules/{}/cancel", post_cancel},
    {"POST", "/v1/schedules/{}/skip-email", post_skip_email},
    {"POST", "/v1/observations", post_observation},
    {"POST", "/v1/certificates", post_certificate},
    {"POST", "/v1/partners", post_partner},
    {"PATCH", "/v1/partners/{}", patch_partner},
    {"DELETE", "/v1/partners/{}", delete_partner},
    {"DELETE", "/v1/certificates/{}", delete_certificate},
    {"PUT", "/v1/listeners/{}", put_listener},
    {"POST", "/v1/backups", post_backup},
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "%2F" and friends as the bytes they stand for; in a query, '+' is a space. A '%' that
// starts no escape stays as it is.
std::string percent_decoded(const std::string& s, bool query) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(query && s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

std::vector<std::string> segments(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 1;
  while (start <= path.size()) {
    const size_t end = path.find('/', start);
    parts.push_back(path.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return parts;
}

std::map<std::string, std::string> parse_query(const std::string& q) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start < q.size()) {
    size_t end = q.find('&', start);
    if (end == std::string::npos) end = q.size();
    const std::string pair = q.substr(start, end - start);
    const size_t eq = pair.find('=');
    out[percent_decoded(pair.substr(0, eq), true)] = eq == std::string::npos ? "" : percent_decoded(pair.substr(eq + 1), true);
    start = end + 1;
  }
  return out;
}

// Whether `path` (already split) fits `pattern`; the {} segments, decoded, go to `params`.
bool matches(const char* pattern, const std::vector<std::string>& path, std::vector<std::string>* params) {
  const std::vector<std::string> want = segments(pattern);
  if (want.size() != path.size()) return false;
  params->clear();
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] == "{}") {
      if (path[i].empty()) return false;
      params->push_back(percent_decoded(path[i], false));
    } else if (want[i] != path[i]) {
      return false;
    }
  }
  return true;
}

// "cli:USER", as the CLI names its operator: printable, no spaces, at most 64 for USER.
bool cli_actor(const std::string& actor) {
  if (actor.rfind("cli:", 0) != 0 || actor.size() < 5 || actor.size() > 4 + 64) return false;
  return std::all_of(actor.begin() + 4, actor.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
}

Reply route(const ApiRequest& request, const ApiContext& context) {
  const size_t qmark = request.target.find('?');
  const std::string path = request.target.substr(0, qmark);
  const std::vector<std::string> parts = segments(path);
  ApiCall call{request, context, {}, parse_query(qmark == std::string::npos ? "" : request.target.substr(qmark + 1)),
               json::object(), {}};
  const Route* found = nullptr;
  bool path_known = false;
  for (const Route& r : kRoutes) {
    std::vector<std::string> params;
    if (!matches(r.pattern, parts, &params)) continue;
    path_known = true;
    if (request.method != r.method) continue;
    found = &r;
    call.params = std::move(params);
    break;
  }
  if (!found) {
    if (path_known) return error(405, "method_not_allowed", request.method + " is not allowed on " + path);
    return error(404, "not_found", "no route " + request.method + " " + path);
  }
  if (request.method != "GET" && !request.body.empty()) {
    call.body = json::parse(request.body, nullptr, false);
    if (call.body.is_discarded() || !call.body.is_object()) {
      return error(400, "invalid_argument", "the request body is not a JSON object");
    }
  }
  std::string actor = "api:" + request.peer;
  if (!request.on_behalf_of.empty()) {
    if (!cli_actor(request.on_behalf_of)) {
      return error(400, "invalid_argument", "X-Certsched-Actor must be cli:USER, USER 1-64 printable characters");
    }
    actor = request.on_behalf_of + " via " + actor;
  }
  call.command = {request.idempotency_key.empty() ? adapters::new_command_id() : "api:" + request.idempotency_key,
                  actor, base::now_ns()};
  return found->handler(call);
}

}  // namespace

Reply error(unsigned status, const std::string& code, const std::string& message) {
  return {status, {{"error", {{"code", code}, {"message", message}}}}};
}

Reply from_status(const Status& st) {
  const std::string message = adapters::with_remedies(st.message(), adapters::FrontEnd::kApi);
  switch (st.code()) {
    case Status::Code::kInvalidArgument: return error(400, st.code_name(), message);
    case Status::Code::kNotFound: return error(404, st.code_name(), message);
    case Status::Code::kConflict:
    case Status::Code::kBusy: return error(409, st.code_name(), message);
    // The store's disk or database cannot be reached now: a load balancer's health check
    // and a client's retry logic both read 503 as "try again, or elsewhere".
    case Status::Code::kIOError: return error(503, st.code_name(), message);
    default: return error(500, st.code_name(), message);
  }
}

Reply ApiCall::with_engine(const std::function<Reply(domain::Engine&, const domain::DomainState&)>& f) const {
  Reply reply;
  context.access([&](domain::Engine& engine) {
    auto state = engine.state();
    reply = state.ok() ? f(engine, *state.value()) : from_status(state.status());
  });
  return reply;
}

bool from_loopback(const std::string& peer) {
  return peer.rfind("127.", 0) == 0 || peer == "::1" || peer.rfind("::ffff:127.", 0) == 0;
}

ApiReply error_reply(unsigned status, const std::string& code, const std::string& message) {
  return {status, json_text(error(status, code, message).body)};
}

ApiReply route_request(const ApiRequest& request, const ApiContext& context) {
  try {
    Reply reply = route(request, context);
    if (reply.text) return {reply.status, std::move(*reply.text), reply.content_type};
    return {reply.status, json_text(reply.body)};
  } catch (const std::exception& e) {
    return error_reply(500, "internal", std::string("the request failed: ") + e.what());
  }
}

}  // namespace certsched::http
