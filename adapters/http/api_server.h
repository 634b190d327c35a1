// The HTTP JSON API of `certsched serve` (CLI.md, "HTTP API"), on Boost.Beast.
// Loopback by default; every request needs the bearer token from DIR/api-token; a mutating
// request's Idempotency-Key becomes its command id, so the same key applies once.
// Bodies are limited to 1 MiB and a client gets 10 s for each step (the TLS handshake, a
// request, taking in the answer) before it is dropped, so no client can wedge the server. Boost.Beast stays inside api_server.cc.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "base/status.h"

namespace certsched::domain {
class Engine;
class ListenerInstaller;
}
namespace certsched::eventstore {
class EventStore;
class SchedulerLease;
}
namespace certsched::projections {
class NotificationOutbox;
class ProjectionStore;
}

namespace certsched::http {

struct ApiOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port (see ApiServer::port)
  std::string token;
  std::string store_dir;
  // Both set: HTTPS with this certificate chain and unencrypted PEM key (proposals carry key
  // passwords, so an API reachable beyond loopback should use it).
  std::string tls_cert_file;
  std::string tls_key_file;
  eventstore::EventStore* store = nullptr;  // for /v1/audit and /v1/replay
  projections::NotificationOutbox* outbox = nullptr;  // for /metrics (mail still owed)
  domain::ListenerInstaller* installer = nullptr;      // for PUT /v1/listeners/{name}
  // A reload command is a shell command serve runs as its own user: only a client on
  // loopback may set one, unless serve is started to allow it.
  bool allow_remote_reload_command = false;
  projections::ProjectionStore* projections = nullptr;  // for POST /v1/backups
  const eventstore::SchedulerLease* lease = nullptr;    // GET /v1/health's role; none: "single"
};

// Runs every engine call of the API; `serve` passes one that holds the lock it shares with
// the scheduler, so API commands and scheduler runs never interleave.
using EngineAccess = std::function<void(const std::function<void(domain::Engine&)>&)>;

class ApiServer {
 public:
  static Result<std::unique_ptr<ApiServer>> start(const ApiOptions& options, EngineAccess access);
  ~ApiServer();  // stops accepting, waits for requests in flight
  uint16_t port() const;

 private:
  struct Impl;
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace certsched::http
