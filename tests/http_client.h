// The tests' one HTTP client (libcurl) for the API of a real `certsched serve`, and the one
// way they start it: in the background, waiting until it answers.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace certsched::testing {

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // http(s)://127.0.0.1:PORT/v1/...
  std::string body;
  std::string token;            // empty: no Authorization header
  std::string idempotency_key;  // empty: none
  std::string actor;            // X-Certsched-Actor, as the CLI sends it; empty: none
  std::string ca_file;          // for https with a private CA
  long timeout_seconds = 20;
};

struct HttpReply {
  long status = 0;     // 0: no answer (refused, timed out)
  nlohmann::json body;  // discarded when the answer is not JSON
  std::string text;
};

HttpReply http_call(const HttpRequest& request);

// `certsched serve` in the background, started by start_serve.
struct ServeProcess {
  pid_t pid = -1;
  std::string base_url;  // "http://127.0.0.1:PORT"
  std::string token;     // the store's API token
  bool ready = false;    // GET /v1/health answered 200 within 20 s
};

// Starts `certsched --store STORE serve --listen 127.0.0.1:PORT EXTRA...` (a free port),
// its output in `log_path`, and waits until it answers. The caller asserts `ready` and
// stops it with stop_serve.
ServeProcess start_serve(const std::string& store, const std::string& log_path,
                         const std::vector<std::string>& extra = {}, const std::string& ca_file = "",
                         const std::vector<std::string>& env = {});
// `METHOD PATH` (with a JSON body unless null) to a running serve, with its token.
HttpReply serve_call(const ServeProcess& serve, const std::string& method, const std::string& path,
                     const nlohmann::json& body = nullptr, long timeout_seconds = 20);

// SIGTERM, then waits for it (30 s at most, then SIGKILL); returns its exit status as
// waitpid gives it.
int stop_serve(ServeProcess& serve);

}  // namespace certsched::testing
