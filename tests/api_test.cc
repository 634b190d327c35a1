// The HTTP API of a real `certsched serve` process, over loopback: auth, idempotency, every
// error class, requests that must not wedge the server, and the scheduler waking for
// commands that arrive through the API; on an embedded store and on a clustered one.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/cert_factory.h"
#include "tests/cli_runner.h"
#include "tests/http_client.h"
#include "tests/servers.h"
#include "tests/store_backends.h"
#include "tests/test_support.h"


namespace certsched {
namespace {

using nlohmann::json;

using testing::HttpReply;

class ApiFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::CertFactory f(dir_.path());
    for (const char* n : {"sign-old", "sign-new"}) certs_[n] = f.make(testing::CertSpec(n).password("pw"));
    testing::write_file(dir_.sub("pw.txt"), "pw\n");
    store_ = dir_.sub("store");
    if (backend_ == testing::Backend::kPostgres) {
      uri_ = testing::fresh_postgres_database();
      cli({"init", "--admin-email", "pki@example.com", "--backend", uri_});
    } else {
      cli({"init", "--admin-email", "pki@example.com"});
    }
    for (const char* n : {"sign-old", "sign-new"}) {
      cli({"cert", "import", "--alias", n, "--cert", certs_[n].cert_pem, "--key", certs_[n].key_pem, "--password-file",
           dir_.sub("pw.txt")});
    }
    cli({"partner", "add", "--id", "acme", "--protocol", "AS2", "--email", "edi@acme.example", "--local-signing", "sign-old"});
    std::vector<std::string> extra;
    if (tls_) {
      testing::shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + dir_.sub("api.key") +
                     " -out " + dir_.sub("api.crt") + " -days 2 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1");
      extra = {"--tls-cert", dir_.sub("api.crt"), "--tls-key", dir_.sub("api.key")};
    }
    serve_ = testing::start_serve(store_, dir_.sub("serve.log"), extra, tls_ ? dir_.sub("api.crt") : "");
    ASSERT_TRUE(serve_.ready) << testing::read_file(dir_.sub("serve.log"));
    token_ = serve_.token;
    port_ = std::stoi(serve_.base_url.substr(serve_.base_url.rfind(':') + 1));
  }
  void TearDown() override { testing::stop_serve(serve_); }
  void cli(std::vector<std::string> args) { testing::StoreCli(store_).ok(args); }
  HttpReply call(const std::string& method, const std::string& path, const std::string& body = "",
                 const std::string& idempotency_key = "", const std::string& token = "use-real") {
    testing::HttpRequest r;
    r.method = method;
    r.url = serve_.base_url + path;
    r.body = body;
    r.token = token == "use-real" ? token_ : token;
    r.idempotency_key = idempotency_key;
    if (tls_) r.ca_file = dir_.sub("api.crt");
    return testing::http_call(r);
  }
  json events() {
    auto r = testing::run_cli({"--store", store_, "--json", "replay", "--verify"});
    return json::parse(r.out)["events"];
  }

  testing::Backend backend_ = testing::Backend::kEmbedded;
  std::string uri_;  // the clustered store's database
  bool tls_ = false;
  testing::TempDir dir_;
  std::map<std::string, testing::CertFiles> certs_;
  std::string store_, token_;
  testing::ServeProcess serve_;
  int port_ = 0;
};

class ApiTest : public ApiFixture, public ::testing::WithParamInterface<testing::Backend> {
 protected:
  void SetUp() override {
    backend_ = GetParam();
    ApiFixture::SetUp();
  }
};

const std::string kProposal = R"({"partners":["acme"],"roles":{"local-signing":"sign-new"},"at":"now","password":"pw"})";

TEST_P(ApiTest, EveryRequestNeedsTheBearerToken) {
  EXPECT_EQ(call("GET", "/v1/partners", "", "", "").status, 401);
  auto wrong = call("GET", "/v1/partners", "", "", std::string(64, '0'));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body["error"]["code"], "unauthorized");
  EXPECT_EQ(call("POST", "/v1/proposals", kProposal, "k", "").status, 401);
  EXPECT_EQ(call("GET", "/v1/schedules").body.size(), 0u);  // the refused proposal changed nothing
  auto ok = call("GET", "/v1/partners/acme");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body["current"]["local-signing"]["alias"], "sign-old");
}

TEST_P(ApiTest, TheSameIdempotencyKeyAppliesOnceAndTheSchedulerActsOnIt) {
  auto first = call("POST", "/v1/proposals", kProposal, "rotation-1");
  ASSERT_EQ(first.status, 200) << first.body.dump();
  EXPECT_EQ(first.body["proposal"], "P1");
  const json after_first = events();
  auto again = call("POST", "/v1/proposals", kProposal, "rotation-1");
  ASSERT_EQ(again.status, 200) << again.body.dump();
  EXPECT_EQ(again.body["proposal"], "P1");
  EXPECT_EQ(again.body["duplicate"], true);
  EXPECT_EQ(events(), after_first);
  // The same key for another request is refused: answering it with the first request's
  // result would tell its caller that something it never asked for was done.
  auto reused = call("POST", "/v1/proposals",
                     R"({"partners":["acme"],"roles":{"local-encryption":"sign-new"},"at":"now","password":"pw"})",
                     "rotation-1");
  EXPECT_EQ(reused.status, 409) << reused.body.dump();
  EXPECT_NE(reused.body.dump().find("rotation-1 was already used for another command"), std::string::npos)
      << reused.body.dump();
  EXPECT_EQ(call("POST", "/v1/proposals/P1/confirm", "", "rotation-1").status, 409);
  EXPECT_EQ(events(), after_first);

  ASSERT_EQ(call("POST", "/v1/proposals/P1/confirm", "", "confirm-1").status, 200);
  // Due now: the scheduler wakes for the new events and activates it.
  json activated;
  for (int i = 0; i < 100; ++i) {
    activated = call("GET", "/v1/schedules?state=activated").body;
    if (!activated.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(activated.size(), 1u);
  EXPECT_EQ(call("GET", "/v1/partners/acme").body["current"]["local-signing"]["alias"], "sign-new");
}

TEST_P(ApiTest, ARetriedPartnerAddWhosePartnerWasRemovedSinceAnswersTheFirstResultAndTheRemoval) {
  const std::string add = R"({"id":"globex","protocol":"AS2","email":"edi@globex.example"})";
  ASSERT_EQ(call("POST", "/v1/partners", add, "add-globex").status, 200);
  ASSERT_EQ(call("DELETE", "/v1/partners/globex", R"({"reason":"contract ended"})", "remove-globex").status, 200);
  const json after = events();
  auto again = call("POST", "/v1/partners", add, "add-globex");
  EXPECT_EQ(again.status, 200) << again.body.dump();
  EXPECT_EQ(again.body["id"], "globex");
  EXPECT_EQ(again.body["reason"], "contract ended") << again.body.dump();
  EXPECT_EQ(events(), after);
  EXPECT_EQ(call("GET", "/v1/health").status, 200);  // and serve is still there
}

TEST_P(ApiTest, EachErrorClassHasItsStatusAndShape) {
  auto check = [&](const HttpReply& r, long status, const std::string& needle) {
    EXPECT_EQ(r.status, status) << r.body.dump();
    ASSERT_TRUE(r.body.contains("error")) << r.body.dump();
    EXPECT_NE(r.body["error"]["message"].get<std::string>().find(needle), std::string::npos) << r.body.dump();
  };
  const json before = events();
  check(call("POST", "/v1/proposals", "{not json"), 400, "not a JSON object");
  check(call("POST", "/v1/proposals", R"({"partners":"acme","roles":{}})"), 400, "\"partners\" has the wrong type");
  check(call("POST", "/v1/proposals", R"({"partners":["acme"],"roles":{"signing":"x"},"at":"now"})"), 400, "not a role");
  check(call("POST", "/v1/proposals", R"({"partners":["acme"],"roles":{"local-signing":"sign-new"},"at":"soon"})"), 400,
        "ISO 8601");
  check(call("POST", "/v1/proposals", R"({"partners":["acme"],"roles":{"local-signing":"sign-new"},"at":"now","password":"nope"})"),
        400, "wrong private key password");
  // No activation time is no proposal, not an activation now; a misspelt option is refused,
  // not dropped (the partners would not be mailed).
  check(call("POST", "/v1/proposals", R"({"partners":["acme"],"roles":{"local-signing":"sign-new"},"password":"pw"})"), 400,
        "\"at\" is required");
  check(call("POST", "/v1/proposals",
             R"({"partners":["acme"],"roles":{"local-signing":"sign-new"},"at":"now","password":"pw","emial_partners":true})"),
        400, "unknown field \"emial_partners\"");
  check(call("POST", "/v1/schedules/S1/cancel", R"({"reasons":"typo"})"), 400, "unknown field \"reasons\"");
  check(call("GET", "/v1/partners/nobody"), 404, "no partner nobody");
  check(call("POST", "/v1/proposals/P42/confirm"), 404, "no proposal P42");
  check(call("GET", "/v1/elsewhere"), 404, "no route");
  check(call("DELETE", "/v1/partners"), 405, "not allowed");
  check(call("POST", "/v1/proposals", std::string(2 << 20, ' ')), 413, "larger than 1 MiB");
  EXPECT_EQ(events(), before);

  ASSERT_EQ(call("POST", "/v1/proposals", kProposal).status, 200);
  check(call("POST", "/v1/proposals", kProposal), 409, "already has an open local-signing schedule");
  check(call("POST", "/v1/schedules/S1/cancel", R"({"reason":"typo"})"), 409, "decline proposal P1 instead");
}

TEST_P(ApiTest, TheCliSendsCommandsToARunningServer) {
  const std::string server = "http://127.0.0.1:" + std::to_string(port_);
  auto cli_remote = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--server", server, "--json"});
    return testing::run_cli(args, {"CERTSCHED_TOKEN=" + token_});
  };
  auto proposed = cli_remote({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at",
                              "now", "--password-file", dir_.sub("pw.txt")});
  ASSERT_EQ(proposed.exit_code, 0) << proposed.err;
  EXPECT_EQ(json::parse(proposed.out)["proposal"], "P1");
  auto confirmed = cli_remote({"schedule", "confirm", "P1"});
  ASSERT_EQ(confirmed.exit_code, 0) << confirmed.err;
  auto shown = cli_remote({"partner", "show", "acme"});
  ASSERT_EQ(shown.exit_code, 0);
  EXPECT_EQ(json::parse(shown.out), call("GET", "/v1/partners/acme").body);

  auto refused = cli_remote({"schedule", "confirm", "P1"});
  EXPECT_EQ(refused.exit_code, 3);
  EXPECT_NE(refused.err.find("only a proposed proposal"), std::string::npos) << refused.err;
  auto local_only = cli_remote({"tick"});
  EXPECT_EQ(local_only.exit_code, 3);
  EXPECT_NE(local_only.err.find("not available through --server"), std::string::npos);
  auto no_token = testing::run_cli({"--server", server, "partner", "list"}, {"CERTSCHED_TOKEN=wrong"});
  EXPECT_EQ(no_token.exit_code, 3);
  EXPECT_NE(no_token.err.find("bearer token"), std::string::npos) << no_token.err;

  // The audit trail names the operator the CLI ran for, and that it went through the API.
  const json trail = testing::StoreCli(store_).ok({"audit", "--proposal", "P1"});
  ASSERT_FALSE(trail.empty());
  for (const auto& e : trail) {
    if (e["actor"] == "scheduler") continue;  // serve's own activation
    EXPECT_EQ(e["interface"], "cli") << e.dump();
    EXPECT_NE(e["actor"].get<std::string>().find(" via api:127.0.0.1"), std::string::npos) << e.dump();
  }
}

TEST_P(ApiTest, AnOperatorNameThatIsNotOneIsRefused) {
  testing::HttpRequest r;
  r.method = "POST";
  r.url = serve_.base_url + "/v1/proposals/P9/decline";
  r.token = token_;
  r.actor = "cli:two words";
  const json before = events();
  const HttpReply bad = testing::http_call(r);
  EXPECT_EQ(bad.status, 400) << bad.text;
  EXPECT_NE(bad.text.find("X-Certsched-Actor"), std::string::npos) << bad.text;
  r.actor = "root:alice";
  EXPECT_EQ(testing::http_call(r).status, 400);
  EXPECT_EQ(events(), before);
}

// A sealed key damaged where the store keeps it (on disk, or in the database) is an
// integrity failure: exit 4 through --server, as when the command runs on the store itself
// (the API names the Status, the CLI maps it back).
TEST_P(ApiTest, AnIntegrityFailureKeepsItsExitCodeThroughTheServer) {
  const std::string server = "http://127.0.0.1:" + std::to_string(port_);
  if (backend_ == testing::Backend::kPostgres) {  // the sealed keys are in the database
    const std::string database = uri_.substr(uri_.rfind('/') + 1);
    testing::shared_postgres().psql(database, "UPDATE certsched.sealed_keys SET sealed = 'not a sealed key'");
  } else {
    for (const auto& entry : std::filesystem::directory_iterator(store_ + "/keys")) {
      testing::write_file(entry.path().string(), "not a sealed key");
    }
  }
  const auto before = events();
  auto r = testing::run_cli({"--server", server, "--json", "schedule", "propose", "--partners", "acme", "--role",
                             "local-signing=sign-new", "--at", "now", "--password-file", dir_.sub("pw.txt")},
                            {"CERTSCHED_TOKEN=" + token_});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("malformed"), std::string::npos) << r.err;
  EXPECT_EQ(json::parse(r.out)["error"]["code"], "corruption") << r.out;
  EXPECT_EQ(events(), before);
}

TEST_P(ApiTest, AuditTrailAndVerifiedReplay) {
  ASSERT_EQ(call("POST", "/v1/proposals", kProposal, "p").status, 200);
  auto trail = call("GET", "/v1/audit?proposal=P1");
  ASSERT_EQ(trail.status, 200);
  ASSERT_EQ(trail.body.size(), 1u);
  EXPECT_EQ(trail.body[0]["event"], "ScheduleProposed");
  EXPECT_EQ(trail.body[0]["interface"], "api");
  EXPECT_EQ(call("GET", "/v1/audit?partner=nobody").status, 404);
  auto inventory = call("GET", "/v1/reports/inventory");
  ASSERT_EQ(inventory.status, 200);
  ASSERT_EQ(inventory.body.size(), 1u);
  EXPECT_EQ(inventory.body[0]["partner"], "acme");
  EXPECT_EQ(inventory.body[0]["pending_alias"], "sign-new");
  // A proposed replacement is not one yet: the certificate is listed, naming it.
  const auto expiring = call("GET", "/v1/reports/expiring?within=400").body;
  ASSERT_EQ(expiring.size(), 1u);
  EXPECT_NE(expiring[0]["replacement"].get<std::string>().find("not confirmed"), std::string::npos) << expiring;
  EXPECT_EQ(call("GET", "/v1/reports/nonsense").status, 404);
  EXPECT_EQ(call("GET", "/v1/reports/history?from=yesterday").status, 400);
  auto verified = call("GET", "/v1/replay?verify=true");
  ASSERT_EQ(verified.status, 200);
  EXPECT_EQ(verified.body["verified"], true);
  EXPECT_EQ(verified.body["events"], events());
  EXPECT_EQ(verified.body["head_hash"].get<std::string>().size(), 64u);
  auto then = call("GET", "/v1/replay?position=4");  // init, two imports, the partner: nothing pending yet
  ASSERT_EQ(then.status, 200) << then.body.dump();
  EXPECT_EQ(then.body["position"], 4);
  EXPECT_EQ(then.body["partners"][0]["current"]["local-signing"]["alias"], "sign-old");
  EXPECT_TRUE(then.body["partners"][0]["pending"].empty());
  EXPECT_EQ(call("GET", "/v1/replay?as_of=soon").status, 400);
  auto now = call("GET", "/v1/replay?as_of=now");
  ASSERT_EQ(now.status, 200) << now.body.dump();
  EXPECT_EQ(now.body["partners"][0]["pending"]["local-signing"]["alias"], "sign-new");
  EXPECT_EQ(call("GET", "/v1/reports/history?from=2020-01-01T00:00:00Z&to=now").status, 200);
  EXPECT_EQ(call("GET", "/v1/replay?position=99999").status, 400);
}

TEST_P(ApiTest, ASilentClientDoesNotWedgeTheServer) {
  // A client that opens a connection, sends half a request and goes quiet.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port_));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const std::string partial = "POST /v1/proposals HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"par";
  ASSERT_EQ(write(fd, partial.data(), partial.size()), static_cast<ssize_t>(partial.size()));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(call("GET", "/v1/health").status, 200);
  close(fd);
}

class ApiTlsTest : public ApiFixture {
 protected:
  ApiTlsTest() { tls_ = true; }
};

TEST_F(ApiTlsTest, TheApiServesHttpsWhenGivenACertificate) {
  auto health = call("GET", "/v1/health");
  EXPECT_EQ(health.status, 200);
  auto proposed = call("POST", "/v1/proposals", kProposal, "over-tls");
  EXPECT_EQ(proposed.status, 200) << proposed.body.dump();
  // The CLI through --server, trusting the server's certificate.
  auto cli_remote = testing::run_cli({"--server", "https://127.0.0.1:" + std::to_string(port_), "--json", "schedule", "list"},
                                     {"CERTSCHED_TOKEN=" + token_, "CERTSCHED_SERVER_CA=" + dir_.sub("api.crt")});
  ASSERT_EQ(cli_remote.exit_code, 0) << cli_remote.err;
  EXPECT_EQ(json::parse(cli_remote.out).size(), 1u);
  // Plain HTTP to the TLS port gets no answer.
  tls_ = false;
  EXPECT_EQ(call("GET", "/v1/health").status, 0);
  tls_ = true;
}

CERTSCHED_ON_BOTH_BACKENDS(ApiTest);

}  // namespace
}  // namespace certsched
