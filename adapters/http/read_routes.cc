// The API's GET handlers: reads of the state, the audit trail, replays and reports.
#include <nlohmann/json.hpp>

#include "adapters/evidence_key.h"
#include "adapters/http/api_call.h"
#include "adapters/metrics.h"
#include "projections/notification_outbox.h"
#include "base/clock.h"
#include "domain/instant.h"
#include "projections/views.h"
#include "replay/audit_trail.h"
#include "replay/point_in_time.h"
#include "replay/reports.h"

namespace certsched::http {

using nlohmann::json;

Reply get_health(const ApiCall& call) {
  const std::string role = call.context.lease ? call.context.lease->role() : "single";
  return call.with_engine([&](domain::Engine&, const domain::DomainState& s) {
    return Reply{200, {{"status", "ok"}, {"role", role}, {"position", s.position()}, {"events", s.position()}}};
  });
}

Reply get_partners(const ApiCall& call) {
  return call.with_engine([](domain::Engine&, const domain::DomainState& s) {
    json all = json::array();
    for (const auto& [id, p] : s.partners()) all.push_back(projections::partner_json(s, p));
    return Reply{200, all};
  });
}

Reply get_certificates(const ApiCall& call) {
  return call.with_engine([](domain::Engine&, const domain::DomainState& s) {
    json all = json::array();
    for (const auto& [alias, c] : s.certificates()) all.push_back(projections::certificate_json(c));
    return Reply{200, all};
  });
}

Reply get_partner(const ApiCall& call) {
  const std::string& id = call.params[0];
  return call.with_engine([&](domain::Engine&, const domain::DomainState& s) {
    const auto* p = s.partner(id);
    return p ? Reply{200, projections::partner_json(s, *p)} : error(404, "not_found", "no partner " + id);
  });
}

Reply get_listeners(const ApiCall& call) {
  return call.with_engine([](domain::Engine&, const domain::DomainState& s) {
    json all = json::array();
    const int64_t now = base::now_ns();
    for (uint8_t li = 0; li < domain::kListenerCount; ++li) {
      if (const auto* l = s.listener(static_cast<domain::Listener>(li))) all.push_back(projections::listener_json(s, *l, now));
    }
    return Reply{200, all};
  });
}

Reply get_schedules(const ApiCall& call) {
  const std::string* partner = call.query_value("partner");
  const std::string* state = call.query_value("state");
  return call.with_engine([&](domain::Engine&, const domain::DomainState& s) {
    json all = json::array();
    for (const auto& id : s.schedule_ids()) {
      const auto* r = s.schedule(id);
      if (partner && !partner->empty() && r->proposed.partner != *partner) continue;
      if (state && !state->empty() && *state != statemachines::to_string(r->state())) continue;
      all.push_back(projections::schedule_json(*r));
    }
    return Reply{200, all};
  });
}

Reply get_options(const ApiCall& call) {
  return call.with_engine([&](domain::Engine&, const domain::DomainState& s) {
    nlohmann::json j = projections::options_json(s);
    adapters::add_evidence_key(call.context.store_dir, &j);
    return Reply{200, j};
  });
}

Reply get_metrics(const ApiCall& call) {
  return call.with_engine([&](domain::Engine&, const domain::DomainState& s) {
    const size_t queued = call.context.outbox ? call.context.outbox->owed(s).size() : 0;
    const eventstore::StoreStats stats = call.context.store ? call.context.store->stats() : eventstore::StoreStats{};
    Reply r;
    r.text = adapters::metrics_text(s, queued, stats, base::now_ns());
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  });
}

Reply get_audit(const ApiCall& call) {
  if (!call.context.store) return error(404, "not_found", "this server has no log to read");
  replay::AuditFilter f;
  if (auto* v = call.query_value("partner")) f.partner = *v;
  if (auto* v = call.query_value("proposal")) f.proposal = *v;
  if (auto* v = call.query_value("cert")) f.cert = *v;
  Reply reply;
  call.context.access([&](domain::Engine&) {
    auto trail = replay::audit_trail(*call.context.store, f);
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

Reply get_replay(const ApiCall& call) {
  if (!call.context.store) return error(404, "not_found", "this server has no log to read");
  int64_t as_of = 0;
  uint64_t position = 0;
  if (auto* v = call.query_value("as_of")) {
    auto t = domain::parse_instant_or_now(*v, base::now_ns());
    if (!t.ok()) return error(400, "invalid_argument", "\"as_of\": " + t.status().message());
    as_of = t.value();
  }
  if (auto* v = call.query_value("position")) {
    char* end = nullptr;
    position = std::strtoull(v->c_str(), &end, 10);
    if (*end != '\0' || position == 0) return error(400, "invalid_argument", "\"position\" must be a positive number");
  }
  if (as_of && position) return error(400, "invalid_argument", "give as_of or position, not both");
  const std::string* verify = call.query_value("verify");
  Reply reply;
  call.context.access([&](domain::Engine&) {
    eventstore::EventStore& store = *call.context.store;
    json body = json::object();
    if (as_of || position) {
      auto then = replay::state_at(store, position, as_of);
      if (!then.ok()) {
        reply = from_status(then.status());
        return;
      }
      json partners = json::array();
      for (const auto& [id, p] : then->state->partners()) partners.push_back(projections::partner_json(*then->state, p));
      body["position"] = then->position;
      body["partners"] = partners;
    }
    // A verify walks the whole log: only when asked. Otherwise the head says where it ends.
    if (verify && *verify == "true") {
      auto report = store.verify();
      if (!report.ok()) {
        reply = from_status(report.status());
        return;
      }
      body["events"] = report->events;
      body["head_hash"] = report->head_hash_hex;
      body["verified"] = report->verified;
      body["first_bad_position"] = report->first_bad_position ? json(*report->first_bad_position) : json(nullptr);
      if (!report->verified) body["problem"] = report->problem;
    } else {
      auto head = store.head();
      if (!head.ok()) {
        reply = from_status(head.status());
        return;
      }
      body["events"] = head->position;
      body["head_hash"] = head->hash_hex;
    }
    reply = {200, body};
  });
  return reply;
}

Reply get_report(const ApiCall& call) {
  replay::ReportOptions o;
  o.now_ns = base::now_ns();
  if (auto* v = call.query_value("within")) {
    char* end = nullptr;
    o.within_days = static_cast<int>(std::strtol(v->c_str(), &end, 10));
    if (*end != '\0' || o.within_days < 0) return error(400, "invalid_argument", "\"within\" must be a number of days");
  }
  for (auto [key, out] : {std::pair{"from", &o.from_ns}, std::pair{"to", &o.to_ns}}) {
    const std::string* v = call.query_value(key);
    if (!v) continue;
    auto t = domain::parse_instant_or_now(*v, o.now_ns);
    if (!t.ok()) return error(400, "invalid_argument", std::string("\"") + key + "\": " + t.status().message());
    *out = t.value();
  }
  const std::string& name = call.params[0];
  return call.with_engine([&](domain::Engine&, const domain::DomainState& s) {
    auto table = replay::build_report(name, s, o);
    if (!table.ok()) return error(404, "not_found", table.status().message());
    return Reply{200, json::parse(replay::format_json(table.value()))};
  });
}

}  // namespace certsched::http
