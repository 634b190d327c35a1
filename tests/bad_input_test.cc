// The bad-input catalogue: every case must get a clear error with the right exit code or
// HTTP status, leave the event log exactly as it was (same event count, same head hash),
// and leave every projection readable. One store serves every case, so a case that did
// change something would also show in the cases after it.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

#include "eventstore/event_store.h"
#include "projections/projection_store.h"
#include "tests/cert_factory.h"
#include "tests/cli_runner.h"
#include "tests/servers.h"
#include "tests/http_client.h"
#include "tests/test_support.h"


namespace certsched {
namespace {

using nlohmann::json;
using testing::CertSpec;
using testing::run_cli;
namespace fs = std::filesystem;

struct Snapshot {
  uint64_t events = 0;
  std::string head_hash;
};

Snapshot snapshot(const std::string& store) {
  eventstore::StoreOptions o;
  o.mode = eventstore::OpenMode::kReadOnly;
  auto s = eventstore::open_rocksdb_store(store, o);
  EXPECT_TRUE(s.ok()) << s.status().message();
  if (!s.ok()) return {};
  auto head = (*s)->head();
  return {head->position, head->hash_hex};
}

// Every projection opens read-only, scans, and is not ahead of the log.
void expect_projections_readable(const std::string& store, uint64_t head) {
  auto p = projections::ProjectionStore::open(store, true);
  ASSERT_TRUE(p.ok()) << p.status().message();
  for (const auto& name : projections::kProjections) {
    EXPECT_TRUE((*p)->scan(name).ok()) << name;
    auto cp = (*p)->checkpoint(name);
    ASSERT_TRUE(cp.ok()) << name;
    EXPECT_LE(cp.value(), head) << name << " is ahead of the log";
  }
}

struct CliCase {
  std::string name;
  std::vector<std::string> args;  // "@F" is replaced by the fixture's file F
  int exit_code;
  std::string message;  // must appear in the one-line error
};

class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    store_ = new std::string(dir_->sub("store"));
    testing::CertFactory f(dir_->path());
    auto& c = *(certs_ = new std::map<std::string, testing::CertFiles>());
    for (const char* n : {"sign-old", "sign-new"}) c[n] = f.make(CertSpec(n).password("pw"));
    c["psign-old"] = f.make(CertSpec("psign-old"));
    c["psign-new"] = f.make(CertSpec("psign-new"));
    c["other"] = f.make(CertSpec("other").password("pw"));
    c["expired"] = f.make(CertSpec("expired").made_at("2020-01-01 00:00:00").valid_days(30));
    c["future"] = f.make(CertSpec("future").made_at("2031-01-01 00:00:00"));
    c["ca-only"] = f.make(CertSpec("ca-only").usage("keyCertSign,cRLSign").password("pw"));
    c["stranger"] = f.make(CertSpec("stranger"));
    const std::string pem = testing::read_file(c["sign-new"].cert_pem);
    const std::string der = testing::read_file(c["sign-new"].cert_der);
    const std::string key = testing::read_file(c["sign-new"].key_pem);
    auto file = [&](const std::string& name, const std::string& bytes) { testing::write_file(dir_->sub(name), bytes); };
    file("pw.txt", "pw\n");
    file("wrong.txt", "not-the-password\n");
    file("empty", "");
    file("garbage.pem", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n");
    file("truncated.pem", pem.substr(0, pem.size() / 2));
    file("truncated.der", der.substr(0, der.size() - 40));
    file("random.bin", std::string("\x9f\x00\x13\xfe\x42garbage\x01\x02\x03", 15) + std::string(300, '\x7f'));
    file("truncated.key", key.substr(0, key.size() / 2));
    file("garbage.key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n");
    file("garbage.p12", std::string(200, '\x30'));
    file("not-json", "{\"partners\": [");
    // An S/MIME message signed by acme's certificate, a corrupted and a truncated copy, and
    // one signed by a certificate acme does not have.
    file("order.edi", "UNB+UNOC:3+ACME+EXAMPLE+261129:1000+42'\n");
    testing::shell("openssl cms -sign -in " + dir_->sub("order.edi") + " -signer " + c["psign-new"].cert_pem + " -inkey " +
                   c["psign-new"].key_pem + " -out " + dir_->sub("signed.smime"));
    testing::shell("openssl cms -sign -in " + dir_->sub("order.edi") + " -signer " + c["stranger"].cert_pem + " -inkey " +
                   c["stranger"].key_pem + " -out " + dir_->sub("foreign.smime"));
    std::string smime = testing::read_file(dir_->sub("signed.smime"));
    file("truncated.smime", smime.substr(0, smime.size() / 2));
    std::string corrupted = smime;
    for (size_t i = corrupted.size() / 2; i < corrupted.size() / 2 + 40; ++i) corrupted[i] = corrupted[i] == 'A' ? 'B' : 'A';
    file("corrupted.smime", corrupted);
    // Larger than the 64 MiB any input file may be (sparse: costs no disk).
    testing::shell("truncate -s 65M " + dir_->sub("huge.smime"));

    cli_ok({"init", "--admin-email", "pki@example.com"});
    for (const char* n : {"sign-old", "sign-new", "ca-only"}) {
      cli_ok({"cert", "import", "--alias", n, "--cert", c[n].cert_pem, "--key", c[n].key_pem, "--password-file",
              dir_->sub("pw.txt")});
    }
    for (const char* n : {"psign-old", "psign-new"}) cli_ok({"cert", "import", "--alias", n, "--cert", c[n].cert_pem, "--partner-cert"});
    cli_ok({"partner", "add", "--id", "acme", "--protocol", "AS2", "--email", "edi@acme.example", "--local-signing",
            "sign-old", "--partner-signing", "psign-old"});
    cli_ok({"partner", "add", "--id", "globex", "--protocol", "AS2", "--email", "b2b@globex.example", "--local-signing",
            "sign-old"});
    // P1: acme's new signing certificate tomorrow, confirmed. P2: globex's, only proposed.
    // P3: acme's new partner certificate, confirmed, then its schedule S3 cancelled.
    std::string tomorrow = testing::shell("date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ");
    tomorrow.erase(tomorrow.find_last_not_of("\n") + 1);
    cli_ok({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at", tomorrow,
            "--password-file", dir_->sub("pw.txt")});
    cli_ok({"schedule", "confirm", "P1"});
    cli_ok({"schedule", "propose", "--partners", "globex", "--role", "local-signing=sign-new", "--at", tomorrow,
            "--password-file", dir_->sub("pw.txt")});
    cli_ok({"schedule", "propose", "--partners", "acme", "--role", "partner-signing=psign-new", "--at", tomorrow});
    cli_ok({"schedule", "confirm", "P3"});
    cli_ok({"schedule", "cancel", "S3", "--reason", "partner asked to wait"});
  }
  static void TearDownTestSuite() {
    delete certs_;
    delete store_;
    delete dir_;
  }
  static void cli_ok(std::vector<std::string> args) { testing::StoreCli(*store_).ok(args); }
  static std::string expand(const std::string& a) {
    if (a.size() > 1 && a[0] == '@') {
      const std::string name = a.substr(1);
      const size_t dot = name.find(':');
      if (dot != std::string::npos) {  // @alias:cert_pem and friends
        const auto& files = (*certs_)[name.substr(0, dot)];
        const std::string which = name.substr(dot + 1);
        if (which == "cert") return files.cert_pem;
        if (which == "der") return files.cert_der;
        if (which == "key") return files.key_pem;
        if (which == "p12") return files.p12;
      }
      return dir_->sub(name);
    }
    return a;
  }
  void expect_refused(const CliCase& c, const std::string& store) {
    SCOPED_TRACE(c.name);
    const Snapshot before = snapshot(store);
    std::vector<std::string> args{"--store", store};
    for (const auto& a : c.args) args.push_back(expand(a));
    auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, c.exit_code) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << "stderr: " << r.err;
    if (c.exit_code == 3) {
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
    }
    EXPECT_EQ(r.err.find("not-the-password"), std::string::npos) << "a password was echoed";
    const Snapshot after = snapshot(store);
    EXPECT_EQ(after.events, before.events) << "events were appended";
    EXPECT_EQ(after.head_hash, before.head_hash) << "the head moved";
    expect_projections_readable(store, after.events);
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline std::string* store_ = nullptr;
  static inline std::map<std::string, testing::CertFiles>* certs_ = nullptr;
};

const std::vector<CliCase> kCliCases = {
    // Certificates and keys.
    {"garbage PEM", {"cert", "import", "--alias", "x", "--cert", "@garbage.pem", "--partner-cert"}, 3, "certificate x"},
    {"truncated PEM", {"cert", "import", "--alias", "x", "--cert", "@truncated.pem", "--partner-cert"}, 3, "certificate x"},
    {"truncated DER", {"cert", "import", "--alias", "x", "--cert", "@truncated.der", "--partner-cert"}, 3, "certificate x"},
    {"garbage bytes", {"cert", "import", "--alias", "x", "--cert", "@random.bin", "--partner-cert"}, 3, "certificate x"},
    {"empty certificate file", {"cert", "import", "--alias", "x", "--cert", "@empty", "--partner-cert"}, 3, "certificate x"},
    {"missing certificate file", {"cert", "import", "--alias", "x", "--cert", "@nowhere.pem", "--partner-cert"}, 3, "cannot read"},
    {"key of another certificate", {"cert", "import", "--alias", "x", "--cert", "@other:cert", "--key", "@sign-new:key",
                                    "--password-file", "@pw.txt"}, 3, "does not match"},
    {"wrong key password", {"cert", "import", "--alias", "x", "--cert", "@other:cert", "--key", "@other:key",
                            "--password-file", "@wrong.txt"}, 3, "password"},
    {"missing key password", {"cert", "import", "--alias", "x", "--cert", "@other:cert", "--key", "@other:key"}, 3, "password"},
    {"truncated key", {"cert", "import", "--alias", "x", "--cert", "@other:cert", "--key", "@truncated.key",
                       "--password-file", "@pw.txt"}, 3, "key"},
    {"garbage key", {"cert", "import", "--alias", "x", "--cert", "@other:cert", "--key", "@garbage.key",
                     "--password-file", "@pw.txt"}, 3, "key"},
    {"PKCS#12 wrong password", {"cert", "import", "--alias", "x", "--pkcs12", "@other:p12", "--password-file", "@wrong.txt"},
     3, "password"},
    {"PKCS#12 garbage", {"cert", "import", "--alias", "x", "--pkcs12", "@garbage.p12", "--password-file", "@pw.txt"}, 3, "PKCS#12"},
    {"expired certificate", {"cert", "import", "--alias", "x", "--cert", "@expired:cert", "--partner-cert"}, 3, "expired"},
    {"partner certificate with a key", {"cert", "import", "--alias", "x", "--cert", "@other:cert", "--key", "@other:key",
                                        "--password-file", "@pw.txt", "--partner-cert"}, 3, "public"},
    {"local certificate without a key", {"cert", "import", "--alias", "x", "--cert", "@other:cert"}, 3, "private key"},
    {"alias taken", {"cert", "import", "--alias", "psign-old", "--cert", "@stranger:cert", "--partner-cert"}, 3, "already exists"},
    {"certificate imported twice", {"cert", "import", "--alias", "again", "--cert", "@psign-old:der", "--partner-cert"}, 3,
     "already imported as psign-old"},
    {"alias with a slash", {"cert", "import", "--alias", "../x", "--cert", "@stranger:cert", "--partner-cert"}, 3, "alias"},
    {"missing password file", {"cert", "import", "--alias", "x", "--cert", "@other:cert", "--key", "@other:key",
                               "--password-file", "@nowhere.txt"}, 3, "cannot read"},
    {"empty password file", {"cert", "import", "--alias", "x", "--cert", "@other:cert", "--key", "@other:key",
                             "--password-file", "@empty"}, 3, "empty"},
    {"not-yet-valid certificate proposed now",
     {"schedule", "propose", "--partners", "globex", "--role", "partner-signing=future", "--at", "now"}, 3, "future"},
    {"wrong key usage for signing", {"schedule", "propose", "--partners", "globex", "--role", "local-signing=ca-only", "--at",
                                     "now", "--password-file", "@pw.txt"}, 3, "digitalSignature"},
    {"wrong password at proposal", {"schedule", "propose", "--partners", "globex", "--role", "local-encryption=sign-new",
                                    "--at", "now", "--password-file", "@wrong.txt"}, 3, "wrong private key password"},
    {"no password at proposal", {"schedule", "propose", "--partners", "globex", "--role", "local-encryption=sign-new", "--at",
                                 "now"}, 3, "password"},
    // References and state.
    {"unknown partner shown", {"partner", "show", "nobody"}, 3, "no partner nobody"},
    {"unknown partner proposed", {"schedule", "propose", "--partners", "nobody", "--role", "partner-signing=psign-new", "--at",
                                  "now"}, 3, "no partner nobody"},
    {"unknown alias proposed", {"schedule", "propose", "--partners", "globex", "--role", "partner-signing=nothing", "--at", "now"},
     3, "no certificate with alias nothing"},
    {"unknown alias for a new partner", {"partner", "add", "--id", "initech", "--protocol", "FTP", "--email", "ops@initech.example",
                                         "--local-signing", "nothing"}, 3, "no certificate with alias nothing"},
    {"partner added twice", {"partner", "add", "--id", "acme", "--protocol", "AS2", "--email", "edi@acme.example"}, 3,
     "already exists"},
    {"unknown proposal confirmed", {"schedule", "confirm", "P99"}, 3, "no proposal P99"},
    {"unknown proposal declined", {"schedule", "decline", "P99"}, 3, "no proposal P99"},
    {"unknown schedule cancelled", {"schedule", "cancel", "S99", "--reason", "x"}, 3, "S99"},
    {"unknown schedule skip-email", {"schedule", "skip-email", "S99", "--reason", "x"}, 3, "S99"},
    {"confirmed proposal confirmed again", {"schedule", "confirm", "P1"}, 3, "cannot be confirmed"},
    {"confirmed proposal declined", {"schedule", "decline", "P1"}, 3, "cannot be declined"},
    {"cancelled schedule cancelled again", {"schedule", "cancel", "S3", "--reason", "again"}, 3, "S3"},
    {"duplicate open schedule", {"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at",
                                 "now", "--password-file", "@pw.txt"}, 3, "already has an open"},
    {"certificate already current", {"schedule", "propose", "--partners", "acme", "--role", "partner-signing=psign-old", "--at",
                                     "now"}, 3, "already current"},
    {"partner certificate for a local role", {"schedule", "propose", "--partners", "globex", "--role",
                                              "local-encryption=psign-new", "--at", "now"}, 3, "partner certificate"},
    {"listener with a partner certificate", {"listener", "configure", "HTTP", "--cert", "psign-new", "--dir", "@www"}, 3,
     "partner certificate"},
    {"listener with an unknown certificate", {"listener", "configure", "HTTP", "--cert", "nothing", "--dir", "@www"}, 3,
     "no certificate with alias nothing"},
    {"unknown listener", {"listener", "configure", "SMTP", "--cert", "sign-old", "--dir", "@www"}, 3, "SMTP"},
    {"listener in a relative directory", {"listener", "configure", "HTTP", "--cert", "sign-old", "--dir", "www"}, 3, "absolute"},
    // Text that is not UTF-8, or holds control characters: refused before it reaches the log
    // (where it once stopped every JSON answer and projection), and shown as JSON when echoed.
    {"email that is not UTF-8", {"partner", "add", "--id", "initech", "--protocol", "FTP", "--email", "ops\xb8@initech.example"}, 3,
     "the partner email must be UTF-8 text"},
    {"reason with a control character", {"schedule", "cancel", "S1", "--reason", "line one\x01"}, 3, "the reason must be UTF-8"},
    {"reload command that is not UTF-8", {"listener", "configure", "HTTP", "--cert", "sign-old", "--dir", "@www",
                                          "--reload-command", "nginx -s reload \xff"}, 3, "the reload command must be UTF-8"},
    {"unknown partner that is not UTF-8, as JSON", {"--json", "partner", "show", "\xb8x"}, 3, "no partner"},
    // Values.
    {"malformed time", {"schedule", "propose", "--partners", "globex", "--role", "partner-signing=psign-new", "--at",
                        "tomorrow"}, 3, "not an ISO 8601 instant"},
    {"impossible date", {"schedule", "propose", "--partners", "globex", "--role", "partner-signing=psign-new", "--at",
                         "2099-02-30T00:00:00Z"}, 3, "2099-02-30"},
    {"time in the past", {"schedule", "propose", "--partners", "globex", "--role", "partner-signing=psign-new", "--at",
                          "2020-01-01T00:00:00Z"}, 3, "in the past"},
    {"role without alias", {"schedule", "propose", "--partners", "globex", "--role", "partner-signing", "--at", "now"}, 3,
     "ROLE=ALIAS"},
    {"unknown role", {"schedule", "propose", "--partners", "globex", "--role", "signing=psign-new", "--at", "now"}, 3,
     "ROLE=ALIAS"},
    {"missing --at", {"schedule", "propose", "--partners", "globex", "--role", "partner-signing=psign-new"}, 2, "--at"},
    {"missing --partners", {"schedule", "propose", "--role", "partner-signing=psign-new", "--at", "now"}, 2, "--partners"},
    {"missing --reason", {"schedule", "cancel", "S1"}, 2, "--reason"},
    {"invalid email", {"partner", "add", "--id", "initech", "--protocol", "FTP", "--email", "not-an-address"}, 3,
     "not an email address"},
    {"unknown protocol", {"partner", "add", "--id", "initech", "--protocol", "SMTP", "--email", "ops@initech.example"}, 3,
     "--protocol"},
    {"partner id too long", {"partner", "add", "--id", std::string(65, 'a'), "--protocol", "FTP", "--email",
                             "ops@initech.example"}, 3, "partner id"},
    {"oversized message file", {"observe", "--partner", "acme", "--message", "@huge.smime"}, 3, "larger than 64 MiB"},
    {"unknown schedule state", {"schedule", "list", "--state", "done"}, 3, "is not one of"},
    {"unknown subcommand", {"schedule", "approve", "P2"}, 2, "'approve' is not a command"},
    {"unknown command", {"--json", "frobnicate"}, 2, "'frobnicate' is not a command"},
    {"position past the end", {"replay", "--position", "999999"}, 3, "past the end"},
    {"malformed --as-of", {"replay", "--as-of", "yesterday"}, 3, "yesterday"},
    {"command id too long", {"--command-id", std::string(300, 'c'), "partner", "add", "--id", "initech", "--protocol", "FTP",
                             "--email", "ops@initech.example"}, 3, "command id"},
    // Messages.
    {"corrupted S/MIME", {"observe", "--partner", "acme", "--message", "@corrupted.smime"}, 3, "message"},
    {"truncated S/MIME", {"observe", "--partner", "acme", "--message", "@truncated.smime"}, 3, "message"},
    {"garbage message", {"observe", "--partner", "acme", "--message", "@random.bin"}, 3, "message"},
    {"empty message", {"observe", "--partner", "acme", "--message", "@empty"}, 3, "message"},
    {"foreign S/MIME signer", {"observe", "--partner", "acme", "--message", "@foreign.smime"}, 3, "acme"},
    {"message from an unknown partner", {"observe", "--partner", "nobody", "--message", "@signed.smime"}, 3, "no partner nobody"},
};

TEST_F(BadInputTest, EveryCliCaseIsRefusedClearlyAndChangesNothing) {
  fs::create_directories(dir_->sub("www"));
  for (const CliCase& c : kCliCases) expect_refused(c, *store_);
  EXPECT_GE(kCliCases.size(), 60u);
}

struct HttpCase {
  std::string name;
  std::string method, path, body;
  long status;
  std::string code;  // the error code in {"error": {"code", "message"}}
  std::string token = "real";
};

std::pair<long, json> http(const std::string& base_url, const std::string& token, const HttpCase& c) {
  testing::HttpRequest r;
  r.method = c.method;
  r.url = base_url + c.path;
  r.body = c.body;
  r.token = token;
  r.idempotency_key = "bad-input-" + c.name;
  const testing::HttpReply reply = testing::http_call(r);
  return {reply.status, reply.body};
}

TEST_F(BadInputTest, EveryApiCaseGetsItsStatusAndChangesNothing) {
  const std::string proposal = R"({"partners":["globex"],"roles":{"partner-signing":"psign-new"},"at":"now"})";
  auto with = [&](const std::string& from, const std::string& to) {
    std::string b = proposal;
    b.replace(b.find(from), from.size(), to);
    return b;
  };
  const std::vector<HttpCase> cases = {
      {"no token", "GET", "/v1/partners", "", 401, "unauthorized", ""},
      {"wrong token", "POST", "/v1/proposals", proposal, 401, "unauthorized", std::string(64, '0')},
      {"not JSON", "POST", "/v1/proposals", "{\"partners\": [", 400, "invalid_argument"},
      {"JSON array body", "POST", "/v1/proposals", "[1,2]", 400, "invalid_argument"},
      {"partners not a list", "POST", "/v1/proposals", with(R"(["globex"])", R"("globex")"), 400, "invalid_argument"},
      {"no partners", "POST", "/v1/proposals", with(R"("partners":["globex"],)", ""), 400, "invalid_argument"},
      {"unknown partner", "POST", "/v1/proposals", with("globex", "nobody"), 404, "not_found"},
      {"unknown alias", "POST", "/v1/proposals", with("psign-new", "nothing"), 404, "not_found"},
      {"malformed time", "POST", "/v1/proposals", with(R"("now")", R"("soon")"), 400, "invalid_argument"},
      {"time in the past", "POST", "/v1/proposals", with(R"("now")", R"("2020-01-01T00:00:00Z")"), 400, "invalid_argument"},
      {"unknown role", "POST", "/v1/proposals", with("partner-signing", "signing"), 400, "invalid_argument"},
      {"body over 1 MiB", "POST", "/v1/proposals", std::string(1100000, ' '), 413, "too_large"},
      {"unknown proposal confirmed", "POST", "/v1/proposals/P99/confirm", "", 404, "not_found"},
      {"confirmed proposal confirmed again", "POST", "/v1/proposals/P1/confirm", "", 409, "conflict"},
      {"cancelled schedule cancelled", "POST", "/v1/schedules/S3/cancel", R"({"reason":"again"})", 409, "conflict"},
      {"reason with a control character", "POST", "/v1/schedules/S1/cancel", R"({"reason":"a\u0001b"})", 400, "invalid_argument"},
      {"unknown partner shown", "GET", "/v1/partners/nobody", "", 404, "not_found"},
      {"unknown path", "GET", "/v1/widgets/zzz", "", 404, "not_found"},
      {"partner update with an unknown field", "PATCH", "/v1/partners/acme", R"({"phone":"555"})", 400, "invalid_argument"},
      {"partner update naming no change", "PATCH", "/v1/partners/acme", "{}", 400, "invalid_argument"},
      {"partner update with a bad email", "PATCH", "/v1/partners/acme", R"({"email":"nope"})", 400, "invalid_argument"},
      {"partner update to an unknown protocol", "PATCH", "/v1/partners/acme", R"({"protocol":"X400"})", 400, "invalid_argument"},
      {"unknown partner updated", "PATCH", "/v1/partners/nobody", R"({"cem":true})", 404, "not_found"},
      {"partner removed without a reason", "DELETE", "/v1/partners/acme", "", 400, "invalid_argument"},
      {"partner with open schedules removed", "DELETE", "/v1/partners/globex", R"({"reason":"gone"})", 409, "conflict"},
      {"certificate in use removed", "DELETE", "/v1/certificates/sign-old", R"({"reason":"old"})", 409, "conflict"},
      {"scheduled certificate removed", "DELETE", "/v1/certificates/sign-new", R"({"reason":"old"})", 409, "conflict"},
      {"unknown certificate removed", "DELETE", "/v1/certificates/zzz", R"({"reason":"old"})", 404, "not_found"},
      {"wrong method", "DELETE", "/v1/partners", "", 405, "method_not_allowed"},
      {"garbage observation", "POST", "/v1/observations", R"({"partner":"acme","message":"garbage"})", 400, "invalid_argument"},
      {"observation without message", "POST", "/v1/observations", R"({"partner":"acme"})", 400, "invalid_argument"},
  };
  testing::ServeProcess serve = testing::start_serve(*store_, "/dev/null");
  ASSERT_TRUE(serve.ready);
  const std::string& token = serve.token;
  for (const HttpCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Snapshot before = snapshot(*store_);
    auto [status, body] = http(serve.base_url, c.token == "real" ? token : c.token, c);
    EXPECT_EQ(status, c.status) << body.dump();
    EXPECT_EQ(body["error"]["code"], c.code) << body.dump();
    EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
    const Snapshot after = snapshot(*store_);
    EXPECT_EQ(after.events, before.events);
    EXPECT_EQ(after.head_hash, before.head_hash);
    expect_projections_readable(*store_, after.events);
  }
  testing::stop_serve(serve);
}

TEST_F(BadInputTest, TheStoreLockedByAnotherWriterNamesIt) {
  // `serve` holds the writer lock: `tick`, which serve's API does not take, is refused and
  // told who holds it. (The API's commands go to serve: live_operations_test.)
  testing::ServeProcess serve = testing::start_serve(*store_, "/dev/null");
  ASSERT_TRUE(serve.ready);
  expect_refused({"locked by serve", {"tick"}, 3, "is held by pid"},
                 *store_);
  testing::stop_serve(serve);
}

TEST_F(BadInputTest, ACorruptedStoreIsNamedAndNotWrittenTo) {
  const std::string copy = dir_->sub("corrupted-store");
  fs::copy(*store_, copy, fs::copy_options::recursive);
  fs::remove(copy + "/writer.lock");
  {
    testing::RawStore raw(copy);  // one flipped bit in the middle of record 5
    std::string v = raw.get_log(5);
    v[v.size() / 2] ^= 0x20;
    raw.put_log(5, v);
  }
  auto verify = run_cli({"--store", copy, "replay", "--verify"});
  EXPECT_EQ(verify.exit_code, 4) << verify.err;
  expect_refused({"write to a corrupted store", {"partner", "add", "--id", "initech", "--protocol", "FTP", "--email",
                                                 "ops@initech.example"}, 4, "position 5"},
                 copy);
}

TEST_F(BadInputTest, OutOfDiskSpaceIsAnErrorAndLosesNothing) {
  // A 3 MiB tmpfs holding a copy of the store, filled up before a command.
  const std::string mnt = dir_->sub("small-disk");
  fs::create_directories(mnt);
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=3m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (not root?)";
  }
  struct Unmount {
    std::string dir;
    ~Unmount() { umount2(dir.c_str(), MNT_DETACH); }
  } unmount{mnt};
  const std::string copy = mnt + "/store";
  fs::copy(*store_, copy, fs::copy_options::recursive);
  fs::remove(copy + "/writer.lock");
  testing::shell("dd if=/dev/zero of=" + mnt + "/filler bs=64k 2>/dev/null || true");
  expect_refused({"disk full", {"partner", "add", "--id", "initech", "--protocol", "FTP", "--email", "ops@initech.example"}, 1,
                  "space"},
                 copy);
  // Once there is room again, the same command succeeds and the log verifies.
  fs::remove(mnt + "/filler");
  auto again = run_cli({"--store", copy, "partner", "add", "--id", "initech", "--protocol", "FTP", "--email",
                        "ops@initech.example"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(run_cli({"--store", copy, "replay", "--verify"}).exit_code, 0);
}

}  // namespace
}  // namespace certsched
