#include "adapters/cli/remote.h"
#include "adapters/remedies.h"
#include "projections/json_text.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

namespace certsched::cli {
namespace {

size_t collect(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

}  // namespace

std::string url_encode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 0xF]};
    }
  }
  return out;
}

Result<std::string> api_token(const GlobalOptions& g) {
  if (const char* t = std::getenv("CERTSCHED_TOKEN"); t && *t) return std::string(t);
  std::ifstream in(g.store_dir + "/api-token");
  std::string token;
  if (!in || !std::getline(in, token) || token.empty()) {
    return Status::InvalidArgument("no API token: set CERTSCHED_TOKEN, or --store DIR with its api-token");
  }
  return token;
}

Result<nlohmann::json> remote_call(const GlobalOptions& g, const std::string& method, const std::string& path,
                                   const nlohmann::json& body) {
  CERTSCHED_ASSIGN_OR_RETURN(auto token, api_token(g));
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(nullptr, curl_slist_free_all);
  auto add = [&](const std::string& h) { headers.reset(curl_slist_append(headers.release(), h.c_str())); };
  add("Authorization: Bearer " + token);
  add("Content-Type: application/json");
  if (method != "GET") {
    add("Idempotency-Key: " + g.command_id);
    // The audit trail names the operator, not only the API (a name serve would not take is
    // left out: the command still goes, recorded as the API's).
    const bool printable = std::all_of(g.actor.begin(), g.actor.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
    if (printable && g.actor.size() <= 4 + 64) add("X-Certsched-Actor: " + g.actor);
  }
  std::string url = g.server;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += path;
  const std::string payload = body.is_null() ? "" : json_text(body);
  std::string answer;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  if (method != "GET") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
  // An https server with a private CA: CERTSCHED_SERVER_CA names the CA (or self-signed) certificate.
  if (const char* ca = std::getenv("CERTSCHED_SERVER_CA"); ca && *ca) curl_easy_setopt(c, CURLOPT_CAINFO, ca);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  if (curl_easy_perform(c) != CURLE_OK) {
    return Status::IOError("cannot reach certsched serve at " + g.server + ": " + error);
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  nlohmann::json j = nlohmann::json::parse(answer, nullptr, false);
  if (j.is_discarded()) return Status::IOError("the server at " + g.server + " answered " + std::to_string(status) + " without JSON");
  if (status < 400) return j;
  // The server names the Status it refused with, so the exit code is the one a local run gives.
  const nlohmann::json refusal = j.contains("error") && j["error"].is_object() ? j["error"] : nlohmann::json::object();
  const std::string message = adapters::without_remedies(refusal.value("message", answer), adapters::FrontEnd::kApi);
  const std::string code = refusal.value("code", "");
  if (code == "corruption") return Status::Corruption(message);
  if (code == "not_found" || status == 404) return Status::NotFound(message);
  if (code == "busy") return Status::Busy(message);
  if (code == "conflict" || status == 409) return Status::Conflict(message);
  if (code == "invalid_argument" || (status >= 400 && status < 500)) return Status::InvalidArgument(message);
  return Status::IOError("the server failed: " + message);
}

}  // namespace certsched::cli
