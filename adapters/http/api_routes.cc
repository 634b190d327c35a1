#include "adapters/http/api_routes.h"
#include "base/clock.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <initializer_list>

#include "adapters/cli/cli_output.h"
#include "adapters/first_usage.h"
#include "domain/engine.h"
#include "domain/instant.h"
#include "projections/views.h"
#include "replay/audit_trail.h"
#include "replay/point_in_time.h"
#include "replay/reports.h"
#include "projections/json_text.h"

namespace certsched::http {
namespace {

using nlohmann::json;


struct Reply {
  unsigned status = 200;
  json body;
};

Reply error(unsigned status, const std::string& code, const std::string& message) {
  return {status, {{"error", {{"code", code}, {"message", message}}}}};
}

Reply from_status(const Status& st) {
  switch (st.code()) {
    case Status::Code::kInvalidArgument: return error(400, st.code_name(), st.message());
    case Status::Code::kNotFound: return error(404, st.code_name(), st.message());
    case Status::Code::kConflict:
    case Status::Code::kBusy: return error(409, st.code_name(), st.message());
    default: return error(500, st.code_name(), st.message());
  }
}

std::vector<std::string> split_path(const std::string& path) {
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
    out[pair.substr(0, eq)] = eq == std::string::npos ? "" : pair.substr(eq + 1);
    start = end + 1;
  }
  return out;
}

// Reads an optional field of the expected JSON type; records a 400 otherwise.
template <class T>
bool field(const json& body, const char* name, T& out, std::string& problem, bool required = false) {
  if (!body.contains(name)) {
    if (required) problem = std::string("\"") + name + "\" is required";
    return !required;
  }
  try {
    out = body.at(name).get<T>();
    return true;
  } catch (const std::exception&) {
    problem = std::string("\"") + name + "\" has the wrong type";
    return false;
  }
}

// A field the request does not know is refused, not ignored: a misspelt "email_partners"
// would otherwise rotate a certificate without telling the partner.
bool only_known_fields(const json& body, std::initializer_list<const char*> known, std::string& problem) {
  for (const auto& item : body.items()) {
    const std::string& name = item.key();
    if (std::find_if(known.begin(), known.end(), [&](const char* k) { return name == k; }) != known.end()) continue;
    problem = "unknown field \"" + name + "\"; the fields are";
    for (const char* k : known) problem += std::string(" ") + k;
    return false;
  }
  return true;
}

Reply route(const ApiRequest& request, const ApiContext& context);

}  // namespace

ApiReply error_reply(unsigned status, const std::string& code, const std::string& message) {
  return {status, json_text(error(status, code, message).body)};
}

ApiReply route_request(const ApiRequest& request, const ApiContext& context) {
  try {
    Reply reply = route(request, context);
    return {reply.status, json_text(reply.body)};
  } catch (const std::exception& e) {
    return error_reply(500, "internal", std::string("the request failed: ") + e.what());
  }
}

namespace {

Reply route(const ApiRequest& request, const ApiContext& context) {
  const std::string& method = request.method;
  const std::string& target = request.target;
  const std::string& body_text = request.body;
  const ApiContext& options = context;
  const EngineAccess& access = context.access;
  const size_t qmark = target.find('?');
  const std::string path = target.substr(0, qmark);
  const auto query = parse_query(qmark == std::string::npos ? "" : target.substr(qmark + 1));
  const auto parts = split_path(path);
  if (parts.size() < 2 || parts[0] != "v1") return error(404, "not_found", "no route " + method + " " + path);
  const std::string& what = parts[1];
  const bool get = method == "GET", post = method == "POST";

  json body = json::object();
  if (post && !body_text.empty()) {
    body = json::parse(body_text, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return error(400, "invalid_argument", "the request body is not a JSON object");
  }
  domain::CommandContext ctx{request.idempotency_key.empty() ? cli::new_command_id() : "api:" + request.idempotency_key,
                             "api:" + request.peer, base::now_ns()};
  Reply reply = error(404, "not_found", "no route " + method + " " + path);
  auto with_engine = [&](const std::function<Reply(domain::Engine&, const domain::DomainState&)>& f) {
    access([&](domain::Engine& engine) {
      auto state = engine.state();
      reply = state.ok() ? f(engine, *state.value()) : from_status(state.status());
    });
    return reply;
  };
  auto schedules_reply = [](const domain::DomainState& s, const domain::CommandResult& r) {
    json schedules = json::array();
    for (const auto& id : r.schedule_ids) schedules.push_back(projections::schedule_json(*s.schedule(id)));
    return Reply{200, {{"proposal", r.proposal_id}, {"schedules", schedules}, {"duplicate", r.duplicate},
                       {"warnings", r.warnings}, {"notes", r.notes}}};
  };

  if (get && what == "health" && parts.size() == 2) {
    return with_engine([](domain::Engine&, const domain::DomainState& s) {
      return Reply{200, {{"status", "ok"}, {"events", s.position()}}};
    });
  }
  if (get && what == "partners" && parts.size() <= 3) {
    return with_engine([&](domain::Engine&, const domain::DomainState& s) {
      if (parts.size() == 3) {
        const auto* p = s.partner(parts[2]);
        return p ? Reply{200, projections::partner_json(s, *p)} : error(404, "not_found", "no partner " + parts[2]);
      }
      json all = json::array();
      for (const auto& [id, p] : s.partners()) all.push_back(projections::partner_json(s, p));
      return Reply{200, all};
    });
  }
  if (get && what == "listeners" && parts.size() == 2) {
    return with_engine([&](domain::Engine& e, const domain::DomainState& s) {
      json all = json::array();
      for (uint8_t li = 0; li < domain::kListenerCount; ++li) {
        if (const auto* l = s.listener(static_cast<domain::Listener>(li))) all.push_back(projections::listener_json(s, *l, base::now_ns()));
      }
      return Reply{200, all};
    });
  }
  if (get && what == "schedules" && parts.size() == 2) {
    return with_engine([&](domain::Engine&, const domain::DomainState& s) {
      const std::string partner = query.count("partner") ? query.at("partner") : "";
      const std::string state = query.count("state") ? query.at("state") : "";
      json all = json::array();
      for (const auto& id : s.schedule_ids()) {
        const auto* r = s.schedule(id);
        if (!partner.empty() && r->proposed.partner != partner) continue;
        if (!state.empty() && state != statemachines::to_string(r->state())) continue;
        all.push_back(projections::schedule_json(*r));
      }
      return Reply{200, all};
    });
  }
  if (post && what == "proposals" && parts.size() == 2) {
    std::string problem, at, password;
    std::vector<std::string> partners;
    std::map<std::string, std::string> roles;
    domain::ProposeCommand c;
    if (!only_known_fields(body, {"partners", "roles", "at", "password", "email_partners", "use_signing_for_encryption",
                                  "force_ssl_client", "force_ssl_server"}, problem) ||
        !field(body, "partners", partners, problem, true) || !field(body, "roles", roles, problem, true) ||
        !field(body, "at", at, problem, true) || !field(body, "password", password, problem) ||
        !field(body, "email_partners", c.email_partners, problem) ||
        !field(body, "use_signing_for_encryption", c.use_signing_for_encryption, problem) ||
        !field(body, "force_ssl_client", c.force_ssl_client, problem) ||
        !field(body, "force_ssl_server", c.force_ssl_server, problem)) {
      return error(400, "invalid_argument", problem);
    }
    c.partners = partners;
    for (const auto& [role, alias] : roles) {
      auto r = domain::parse_role(role);
      if (!r) return error(400, "invalid_argument", "\"" + role + "\" is not a role");
      c.roles.push_back({*r, alias});
    }
    if (at != "now") {
      auto t = domain::parse_instant(at);
      if (!t.ok()) return error(400, "invalid_argument", "\"at\": " + t.status().message());
      c.activate_at_ns = t.value();
    }
    c.password = password;
    domain::secure_wipe(password);
    with_engine([&](domain::Engine& e, const domain::DomainState&) {
      auto r = e.propose(c, ctx);
      domain::secure_wipe(c.password);
      return r.ok() ? schedules_reply(*e.state().value(), r.value()) : from_status(r.status());
    });
    return reply;
  }
  if (post && (what == "proposals" || what == "schedules") && parts.size() == 4) {
    const std::string id = parts[2], verb = parts[3];
    std::string reason, problem;
    if (!only_known_fields(body, {"reason"}, problem) || !field(body, "reason", reason, problem)) {
      return error(400, "invalid_argument", problem);
    }
    return with_engine([&](domain::Engine& e, const domain::DomainState&) {
      Result<domain::CommandResult> r = Status::NotFound("no route " + method + " " + path);
      if (what == "proposals" && verb == "confirm") r = e.confirm(id, ctx);
      else if (what == "proposals" && verb == "decline") r = e.decline(id, ctx);
      else if (what == "schedules" && verb == "cancel") r = e.cancel(id, reason, ctx);
      else if (what == "schedules" && verb == "skip-email") r = e.skip_email(id, reason, ctx);
      return r.ok() ? schedules_reply(*e.state().value(), r.value()) : from_status(r.status());
    });
  }
  if (post && what == "observations" && parts.size() == 2) {
    std::string partner, message, problem;
    if (!only_known_fields(body, {"partner", "message"}, problem) || !field(body, "partner", partner, problem, true) ||
        !field(body, "message", message, problem, true)) {
      return error(400, "invalid_argument", problem);
    }
    return with_engine([&](domain::Engine& e, const domain::DomainState&) {
      auto r = adapters::observe_message(e, options.store_dir, partner, message, ctx);
      if (!r.ok()) return from_status(r.status());
      Reply out = schedules_reply(*e.state().value(), r.value());
      out.body["activated"] = out.body["schedules"];
      return out;
    });
  }
  if (get && what == "audit" && parts.size() == 2 && options.store) {
    replay::AuditFilter f;
    if (query.count("partner")) f.partner = query.at("partner");
    if (query.count("proposal")) f.proposal = query.at("proposal");
    if (query.count("cert")) f.cert = query.at("cert");
    access([&](domain::Engine&) {
      auto trail = replay::audit_trail(*options.store, f);
      if (!trail.ok()) {
        reply = from_status(trail.status());
        return;
      }
      json all = json::array();
      for (const auto& a : trail.value()) all.push_back(replay::to_json(a));
      reply = {200, all};
    });
    return reply;
  }
  if (get && what == "replay" && parts.size() == 2 && options.store) {
    int64_t as_of = 0;
    uint64_t position = 0;
    if (query.count("as_of")) {
      auto t = domain::parse_instant_or_now(query.at("as_of"), base::now_ns());
      if (!t.ok()) return error(400, "invalid_argument", "\"as_of\": " + t.status().message());
      as_of = t.value();
    }
    if (query.count("position")) {
      char* end = nullptr;
      position = std::strtoull(query.at("position").c_str(), &end, 10);
      if (*end != '\0' || position == 0) return error(400, "invalid_argument", "\"position\" must be a positive number");
    }
    if (as_of && position) return error(400, "invalid_argument", "give as_of or position, not both");
    access([&](domain::Engine&) {
      json body = json::object();
      if (as_of || position) {
        auto then = replay::state_at(*options.store, position, as_of);
        if (!then.ok()) {
          reply = from_status(then.status());
          return;
        }
        json partners = json::array();
        for (const auto& [id, p] : then->state->partners()) partners.push_back(projections::partner_json(*then->state, p));
        body["position"] = then->position;
        body["partners"] = partners;
      }
      auto report = options.store->verify();
      if (!report.ok()) {
        reply = from_status(report.status());
        return;
      }
      body["events"] = report->events;
      body["head_hash"] = report->head_hash_hex;
      if (query.count("verify") && query.at("verify") == "true") {
        body["verified"] = report->verified;
        body["first_bad_position"] = report->first_bad_position ? json(*report->first_bad_position) : json(nullptr);
        if (!report->verified) body["problem"] = report->problem;
      }
      reply = {200, body};
    });
    return reply;
  }
  if (get && what == "reports" && parts.size() == 3) {
    replay::ReportOptions o;
    o.now_ns = base::now_ns();
    if (query.count("within")) {
      char* end = nullptr;
      o.within_days = static_cast<int>(std::strtol(query.at("within").c_str(), &end, 10));
      if (*end != '\0' || o.within_days < 0) return error(400, "invalid_argument", "\"within\" must be a number of days");
    }
    for (auto [key, out] : {std::pair{"from", &o.from_ns}, std::pair{"to", &o.to_ns}}) {
      if (!query.count(key)) continue;
      auto t = domain::parse_instant_or_now(query.at(key), o.now_ns);
      if (!t.ok()) return error(400, "invalid_argument", std::string("\"") + key + "\": " + t.status().message());
      *out = t.value();
    }
    return with_engine([&](domain::Engine& e, const domain::DomainState& s) {
      auto table = replay::build_report(parts[2], s, o);
      if (!table.ok()) return error(404, "not_found", table.status().message());
      return Reply{200, json::parse(replay::format_json(table.value()))};
    });
  }
  if ((what == "health" || what == "partners" || what == "listeners" || what == "schedules" ||
                        what == "proposals" || what == "observations" || what == "audit" || what == "replay" || what == "reports")) {
    return error(405, "method_not_allowed", method + " is not allowed on " + path);
  }
  return error(404, "not_found", "no route " + method + " " + path);
}


}  // namespace
}  // namespace certsched::http
