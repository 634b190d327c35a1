// The HTTP API's requests and answers without the HTTP: `serve` hands every authenticated
// request here, and tests and fuzzers can call it directly.
#pragma once

#include <string>

#include "adapters/http/api_server.h"

namespace certsched::http {

struct ApiRequest {
  std::string method;           // "GET", "POST", ...
  std::string target;           // path and query, e.g. "/v1/schedules?state=pending"
  std::string idempotency_key;  // empty: none given
  std::string peer;             // the client's address, recorded as the actor
  std::string body;
  // X-Certsched-Actor: "cli:USER" when the CLI sends an operator's command to serve; the
  // actor is then "cli:USER via api:PEER". Claimed by the token holder, recorded as such.
  std::string on_behalf_of;
};

struct ApiReply {
  unsigned status = 200;
  std::string body;  // JSON text: the answer, or {"error": {"code", "message"}}; or the metrics
  std::string content_type = "application/json";
};

struct ApiContext {
  std::string store_dir;
  eventstore::EventStore* store = nullptr;  // for /v1/audit and /v1/replay
  EngineAccess access;
  projections::NotificationOutbox* outbox = nullptr;  // for /metrics
  domain::ListenerInstaller* installer = nullptr;      // for PUT /v1/listeners/{name}
  bool allow_remote_reload_command = false;
  projections::ProjectionStore* projections = nullptr;  // for POST /v1/backups, from loopback
  const eventstore::SchedulerLease* lease = nullptr;    // for GET /v1/health
};

// Never throws: an unexpected exception becomes a 500 with its message.
ApiReply route_request(const ApiRequest& request, const ApiContext& context);

ApiReply error_reply(unsigned status, const std::string& code, const std::string& message);

}  // namespace certsched::http
