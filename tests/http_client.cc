#include "tests/http_client.h"

#include <curl/curl.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "tests/cli_runner.h"
#include "tests/servers.h"

namespace certsched::testing {
namespace {

size_t collect(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

}  // namespace

HttpReply http_call(const HttpRequest& request) {
  CURL* c = curl_easy_init();
  curl_slist* headers = nullptr;
  if (!request.token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + request.token).c_str());
  if (!request.idempotency_key.empty()) {
    headers = curl_slist_append(headers, ("Idempotency-Key: " + request.idempotency_key).c_str());
  }
  if (!request.actor.empty()) headers = curl_slist_append(headers, ("X-Certsched-Actor: " + request.actor).c_str());
  headers = curl_slist_append(headers, "Content-Type: application/json");
  HttpReply reply;
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  if (!request.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, request.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  if (request.method != "GET") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.text);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, request.timeout_seconds);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  reply.body = nlohmann::json::parse(reply.text, nullptr, false);
  return reply;
}

ServeProcess start_serve(const std::string& store, const std::string& log_path, const std::vector<std::string>& extra,
                         const std::string& ca_file, const std::vector<std::string>& env) {
  ServeProcess serve;
  const int port = free_port();
  bool tls = false;
  for (const auto& a : extra) tls |= a == "--tls-cert";
  serve.base_url = std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port);
  std::vector<std::string> args{"--store", store, "serve", "--listen", "127.0.0.1:" + std::to_string(port)};
  args.insert(args.end(), extra.begin(), extra.end());
  serve.pid = start_cli(args, log_path, env);
  std::ifstream token_file(store + "/api-token");
  std::getline(token_file, serve.token);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    HttpRequest health;
    health.url = serve.base_url + "/v1/health";
    health.ca_file = ca_file;
    health.token = serve.token;
    health.timeout_seconds = 2;
    if (http_call(health).status == 200) {
      serve.ready = true;
      break;
    }
    if (waitpid(serve.pid, nullptr, WNOHANG) == serve.pid) {  // it stopped: no point waiting
      serve.pid = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return serve;
}

HttpReply serve_call(const ServeProcess& serve, const std::string& method, const std::string& path,
                     const nlohmann::json& body, long timeout_seconds) {
  HttpRequest r;
  r.method = method;
  r.url = serve.base_url + path;
  r.token = serve.token;
  if (!body.is_null()) r.body = body.dump();
  r.timeout_seconds = timeout_seconds;
  return http_call(r);
}

int stop_serve(ServeProcess& serve) {
  int status = 0;
  if (serve.pid > 0) {
    kill(serve.pid, SIGTERM);
    // A serve that ignores SIGTERM is a failure to report, not a test that hangs.
    bool exited = false;
    for (int i = 0; i < 3000 && !exited; ++i) {
      exited = waitpid(serve.pid, &status, WNOHANG) == serve.pid;
      if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!exited) {
      kill(serve.pid, SIGKILL);
      waitpid(serve.pid, &status, 0);
    }
    serve.pid = -1;
  }
  return status;
}

}  // namespace certsched::testing
