// The scheduling commands as users and scripts run them: JSON shapes, exit codes, refusals
// that change nothing, `tick`, `observe`, and a real `serve` process.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

#include "domain/instant.h"
#include "base/clock.h"
#include "tests/cert_factory.h"
#include "tests/cli_runner.h"
#include "tests/store_backends.h"
#include "tests/test_support.h"


namespace certsched {
namespace {

using nlohmann::json;
using testing::CertSpec;
using testing::run_cli;

// On both kinds of store: the embedded one, and a clustered one whose log is in PostgreSQL.
class CliSchedulingTest : public ::testing::TestWithParam<testing::Backend> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::CertFactory f(dir_->path());
    certs_ = new std::map<std::string, testing::CertFiles>();
    for (const char* n : {"sign-old", "sign-new", "enc-new"}) (*certs_)[n] = f.make(CertSpec(n).password("pw"));
    (*certs_)["psign-old"] = f.make(CertSpec("psign-old").password("pw"));
    testing::write_file(dir_->sub("pw.txt"), "pw\n");
    testing::write_file(dir_->sub("wrong.txt"), "not-it\n");
  }
  static void TearDownTestSuite() {
    delete certs_;
    delete dir_;
  }
  void SetUp() override {
    store_ = std::make_unique<testing::TempDir>();
    if (GetParam() == testing::Backend::kPostgres) {
      uri_ = testing::fresh_postgres_database();
      ok({"init", "--admin-email", "pki@example.com", "--backend", uri_});
    } else {
      ok({"init", "--admin-email", "pki@example.com"});
    }
    for (const char* n : {"sign-old", "sign-new", "enc-new"}) {
      ok({"cert", "import", "--alias", n, "--cert", (*certs_)[n].cert_pem, "--key", (*certs_)[n].key_pem,
          "--password-file", dir_->sub("pw.txt")});
    }
    ok({"cert", "import", "--alias", "psign-old", "--cert", (*certs_)["psign-old"].cert_der, "--partner-cert"});
    ok({"partner", "add", "--id", "acme", "--protocol", "AS2", "--email", "edi@acme.example", "--local-signing",
        "sign-old", "--partner-signing", "psign-old"});
  }
  std::vector<std::string> with_store(std::vector<std::string> args, bool json) { return cli().args_for(args, json); }
  json ok(std::vector<std::string> args) { return cli().ok(args); }
  testing::CliResult refused(std::vector<std::string> args, int code = 3) { return cli().refused(args, code); }
  testing::StoreCli cli() const { return testing::StoreCli(store_->sub("s")); }

  static inline testing::TempDir* dir_ = nullptr;
  static inline std::map<std::string, testing::CertFiles>* certs_ = nullptr;
  std::unique_ptr<testing::TempDir> store_;
  std::string uri_;  // the clustered store's database
};

TEST_P(CliSchedulingTest, ProposeConfirmTickAndTheJsonShapes) {
  json p = ok({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at", "now",
               "--password-file", dir_->sub("pw.txt")});
  EXPECT_EQ(p["proposal"], "P1");
  ASSERT_EQ(p["schedules"].size(), 1u);
  for (const char* field : {"id", "proposal", "partner", "role", "alias", "fingerprint", "state", "activate_at", "first_usage"}) {
    EXPECT_TRUE(p["schedules"][0].contains(field)) << field;
  }
  EXPECT_EQ(p["schedules"][0]["state"], "proposed");
  EXPECT_EQ(p["schedules"][0]["fingerprint"], (*certs_)["sign-new"].fingerprint);

  json shown = ok({"partner", "show", "acme"});
  for (const char* field : {"id", "protocol", "cem", "email", "current", "pending"}) EXPECT_TRUE(shown.contains(field)) << field;
  EXPECT_EQ(shown["current"]["local-signing"]["alias"], "sign-old");
  EXPECT_TRUE(shown["current"]["local-signing"].contains("not_after"));
  EXPECT_EQ(shown["pending"]["local-signing"]["id"], "S1");

  ok({"schedule", "confirm", "P1"});
  json t = ok({"tick"});
  EXPECT_EQ(t["activated"], json::array({"S1"}));
  EXPECT_EQ(ok({"partner", "show", "acme"})["current"]["local-signing"]["alias"], "sign-new");
  EXPECT_EQ(ok({"schedule", "list", "--state", "activated"}).size(), 1u);
  EXPECT_EQ(ok({"schedule", "list", "--partner", "acme", "--state", "pending"}).size(), 0u);
  EXPECT_EQ(ok({"tick"})["activated"].size(), 0u);  // nothing twice

  // The audit trail: who did what, through which interface, and what it left.
  json trail = ok({"audit", "--partner", "acme"});
  std::vector<std::string> events;
  for (const auto& e : trail) {
    events.push_back(e["event"]);
    for (const char* field : {"time", "actor", "interface", "what", "state", "position"}) EXPECT_TRUE(e.contains(field)) << field;
  }
  EXPECT_EQ(events, (std::vector<std::string>{"PartnerAdded", "ScheduleProposed", "ScheduleConfirmed", "ScheduleQueued",
                                              "ScheduleActivated", "PartnerCertificateActivated"}));
  EXPECT_EQ(trail[4]["interface"], "cli");
  EXPECT_EQ(trail[4]["state"], "activated");
  EXPECT_NE(trail[4]["what"].get<std::string>().find("sign-new replaces sign-old"), std::string::npos);
  EXPECT_EQ(ok({"audit", "--proposal", "P1"}).size(), 4u);
  EXPECT_EQ(ok({"audit", "--cert", "sign-new"})[0]["event"], "CertificateImported");
  EXPECT_NE(refused({"audit", "--proposal", "P9"}).err.find("no proposal P9"), std::string::npos);

  // Reads come from the persisted projections while they are current; without them, from a
  // replay of the log. Both answer the same.
  ASSERT_TRUE(std::filesystem::exists(store_->sub("s") + "/projections/CURRENT"));
  const json partners = ok({"partner", "list"}), schedules = ok({"schedule", "list"});
  std::filesystem::remove_all(store_->sub("s") + "/projections");
  EXPECT_EQ(ok({"partner", "list"}), partners);
  EXPECT_EQ(ok({"schedule", "list"}), schedules);

  // A clustered store keeps the sealed keys in its database, and nothing there is a key in
  // clear: every node reads them, none has them in its directory.
  if (GetParam() == testing::Backend::kPostgres) {
    EXPECT_EQ(testing::files_in(store_->sub("s") + "/keys"), 0u);
    const std::string db = uri_.substr(uri_.rfind('/') + 1);
    EXPECT_EQ(testing::shared_postgres().psql(db, "SELECT count(*) FROM certsched.sealed_keys WHERE fingerprint "
                                                  "NOT IN ('store-key-check', 'evidence-key')"),
              "3\n");
    EXPECT_EQ(testing::shared_postgres().psql(db, "SELECT count(*) FROM certsched.sealed_keys WHERE "
                                                  "position('\\x2d2d2d2d2d'::bytea in sealed) > 0"),
              "0\n");  // no PEM armour ("-----") in any row
  }
}

TEST_P(CliSchedulingTest, CertListListenerShowAndSkipEmailShapes) {
  json certs = ok({"cert", "list"});
  ASSERT_EQ(certs.size(), 4u);
  for (const char* field : {"alias", "local", "fingerprint", "subject", "not_after"}) EXPECT_TRUE(certs[0].contains(field)) << field;
  EXPECT_EQ(certs[0]["alias"], "enc-new");  // sorted by alias
  EXPECT_EQ(certs[2]["alias"], "sign-new");
  EXPECT_EQ(certs[2]["fingerprint"], (*certs_)["sign-new"].fingerprint);

  EXPECT_EQ(ok({"listener", "show"}).size(), 0u);
  ok({"listener", "configure", "FTP", "--cert", "sign-old", "--dir", store_->sub("ftp")});
  json listeners = ok({"listener", "show"});
  ASSERT_EQ(listeners.size(), 1u);
  EXPECT_EQ(listeners[0]["listener"], "FTP");
  EXPECT_EQ(listeners[0]["current"]["alias"], "sign-old");
  EXPECT_TRUE(listeners[0]["pending"].is_null());
  EXPECT_TRUE(std::filesystem::exists(store_->sub("ftp") + "/key.pem"));

  ok({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at", "now", "--password-file",
      dir_->sub("pw.txt")});
  ok({"schedule", "confirm", "P1"});
  EXPECT_NE(refused({"schedule", "skip-email", "S1", "--reason", "by hand"}).err.find("no partner email was asked for"),
            std::string::npos);
  refused({"schedule", "skip-email", "S1"}, 2);  // --reason is required
}

// A persisted projection row that is not JSON (a bug, a bad disk, a careless tool): the
// reads answer from the log, say so on stderr, and never abort.
TEST_P(CliSchedulingTest, AnUnreadableProjectionRowIsAnsweredFromTheLog) {
  ok({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at", "now", "--password-file",
      dir_->sub("pw.txt")});
  const json partners = ok({"partner", "list"});
  const json schedules = ok({"schedule", "list"});
  testing::tamper_projection(store_->sub("s"), "partners", "acme", "{not json");
  testing::tamper_projection(store_->sub("s"), "schedules", "S1", std::string("\xff\x00", 2));
  for (const auto& [args, expected] : {std::pair{std::vector<std::string>{"partner", "list"}, partners},
                                       std::pair{std::vector<std::string>{"schedule", "list"}, schedules}}) {
    auto r = run_cli(with_store(args, true));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(json::parse(r.out), expected);
    EXPECT_NE(r.err.find("unreadable row"), std::string::npos) << r.err;
  }
  auto shown = run_cli(with_store({"partner", "show", "acme"}, true));
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(json::parse(shown.out)["id"], "acme");
}

TEST_P(CliSchedulingTest, ReplayRebuildsProjectionsAndNamesTamperingWithExitFour) {
  ok({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at", "now", "--password-file",
      dir_->sub("pw.txt")});
  ok({"schedule", "confirm", "P1"});
  json clean = ok({"replay"});
  EXPECT_EQ(clean["deterministic"], true);
  EXPECT_EQ(clean["projections"]["partners"], "equal");

  // A live projection that no longer matches the log is a determinism failure, named.
  testing::tamper_projection(store_->sub("s"), "partners", "acme", R"({"id":"acme","forged":true})");
  auto drifted = run_cli(with_store({"replay"}, true));
  EXPECT_EQ(drifted.exit_code, 4) << drifted.err;
  json d = json::parse(drifted.out);
  EXPECT_EQ(d["deterministic"], false);
  EXPECT_NE(d["projections"]["partners"].get<std::string>().find("forged"), std::string::npos);
  EXPECT_EQ(d["projections"]["schedules"], "equal");

  // Records deleted or swapped in the log itself: --verify names the first bad position.
  // (Rows of a clustered log are altered in postgres_store_test.)
  if (GetParam() == testing::Backend::kPostgres) return;
  const std::string store = store_->sub("s");
  const uint64_t events = ok({"replay", "--events"}).size();
  {
    testing::RawStore raw(store);
    raw.delete_log(5);
  }
  auto deleted = run_cli(with_store({"replay", "--verify"}, true));
  EXPECT_EQ(deleted.exit_code, 4);
  EXPECT_EQ(json::parse(deleted.out)["first_bad_position"], 5);
  {
    testing::RawStore raw(store);
    raw.put_log(5, raw.get_log(6));  // restore a record at 5, but the wrong one...
    const std::string seven = raw.get_log(7), eight = raw.get_log(8);
    raw.put_log(7, eight);  // ...and swap 7 and 8
    raw.put_log(8, seven);
  }
  auto swapped = run_cli(with_store({"replay", "--verify"}, true));
  EXPECT_EQ(swapped.exit_code, 4);
  EXPECT_EQ(json::parse(swapped.out)["first_bad_position"], 5);
  EXPECT_GT(events, 8u);
}

TEST_P(CliSchedulingTest, DeclineCancelAndReports) {
  ok({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at", "now", "--password-file",
      dir_->sub("pw.txt")});
  EXPECT_EQ(ok({"schedule", "decline", "P1"})["schedules"][0]["state"], "withdrawn");
  ok({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at",
      domain::format_instant(base::now_ns() + 86400LL * 1'000'000'000), "--password-file", dir_->sub("pw.txt")});
  ok({"schedule", "confirm", "P2"});
  json inventory = ok({"report", "inventory"});
  ASSERT_EQ(inventory.size(), 2u);  // acme's local-signing and partner-signing
  EXPECT_EQ(inventory[0]["role"], "local-signing");
  EXPECT_EQ(inventory[0]["pending_alias"], "sign-new");
  EXPECT_EQ(inventory[0]["pending_state"], "pending");
  auto csv = run_cli(with_store({"report", "expiring", "--within", "400", "--format", "csv"}, false));
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(csv.out.rfind("partner,role,alias,fingerprint,not_after,days_left,listener,replacement,alerted\n", 0), 0u) << csv.out;
  EXPECT_EQ(csv.out.find("local-signing"), std::string::npos) << "a replacement is scheduled for it";
  EXPECT_NE(csv.out.find("acme,partner-signing,psign-old,"), std::string::npos) << csv.out;
  // A horizon past the instants certsched can hold means "everything", not an overflow.
  EXPECT_EQ(ok({"report", "expiring", "--within", "2000000000", "--format", "json"}).size(), 1u);
  EXPECT_EQ(ok({"schedule", "cancel", "S2", "--reason", "postponed"})["schedules"][0]["state"], "cancelled");
  EXPECT_EQ(ok({"report", "inventory"})[0]["pending_alias"], "");
  EXPECT_NE(refused({"report", "weekly"}).err.find("no report 'weekly'"), std::string::npos);
  EXPECT_NE(refused({"report", "history", "--from", "last week"}).err.find("--from: 'last week' is not an ISO 8601"),
            std::string::npos);
  // `now` is accepted wherever a time is (CLI.md).
  EXPECT_TRUE(ok({"report", "history", "--from", "2020-01-01T00:00:00Z", "--to", "now"}).empty());
  json now = ok({"replay", "--as-of", "now"});
  ASSERT_EQ(now["partners"].size(), 1u) << now.dump();
  EXPECT_EQ(now["partners"][0]["current"]["local-signing"]["alias"], "sign-old");
}

TEST_P(CliSchedulingTest, RefusalsNameTheProblemAndChangeNothing) {
  auto wrong = refused({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at", "now",
                        "--password-file", dir_->sub("wrong.txt")});
  EXPECT_NE(wrong.err.find("wrong private key password for certificate sign-new"), std::string::npos) << wrong.err;
  EXPECT_EQ(wrong.err.find("not-it"), std::string::npos) << "the password was echoed";
  EXPECT_NE(refused({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at", "tomorrow",
                     "--password-file", dir_->sub("pw.txt")}).err.find("not an ISO 8601 instant"), std::string::npos);
  EXPECT_NE(refused({"schedule", "propose", "--partners", "acme", "--role", "signing=sign-new", "--at", "now"})
                .err.find("must be ROLE=ALIAS"), std::string::npos);
  EXPECT_NE(refused({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at",
                     "2020-01-01T00:00:00Z", "--password-file", dir_->sub("pw.txt")}).err.find("in the past"), std::string::npos);
  refused({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new"}, 2);  // no --at: usage
  EXPECT_NE(refused({"partner", "show", "nobody"}).err.find("no partner nobody"), std::string::npos);
  EXPECT_NE(refused({"schedule", "list", "--state", "done"}).err.find("is not one of"), std::string::npos);
  EXPECT_NE(refused({"schedule", "confirm", "P7"}).err.find("no proposal P7"), std::string::npos);
  testing::write_file(dir_->sub("garbage.pem"), "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
  EXPECT_NE(refused({"cert", "import", "--alias", "junk", "--cert", dir_->sub("garbage.pem"), "--partner-cert"})
                .err.find("certificate junk"), std::string::npos);
  EXPECT_NE(refused({"cert", "import", "--alias", "x", "--cert", dir_->sub("missing.pem")}).err.find("cannot read"),
            std::string::npos);
  EXPECT_NE(refused({"partner", "add", "--id", "x", "--protocol", "SMTP", "--email", "a@b.example"}).err.find("--protocol"),
            std::string::npos);
}

TEST_P(CliSchedulingTest, ACommandIdAppliesOnceAndIsRefusedForAnotherCommand) {
  const std::vector<std::string> propose = {"--command-id", "rotation-7", "schedule", "propose", "--partners", "acme",
                                            "--role", "local-signing=sign-new", "--at", "now", "--password-file",
                                            dir_->sub("pw.txt")};
  json first = ok(propose);
  json again = ok(propose);
  EXPECT_EQ(again["proposal"], first["proposal"]);
  EXPECT_EQ(again["duplicate"], true);
  const size_t events = ok({"replay", "--events"}).size();

  // A script that reuses an id for another command must hear so, not get the proposal's
  // result back as if its confirmation had been done.
  auto reused = refused({"--command-id", "rotation-7", "schedule", "confirm", "P1"});
  EXPECT_NE(reused.err.find("command id rotation-7 was already used for another command"), std::string::npos)
      << reused.err;
  auto other_partner = refused({"--command-id", "rotation-7", "schedule", "propose", "--partners", "acme", "--role",
                                "local-encryption=sign-new", "--at", "now", "--password-file", dir_->sub("pw.txt")});
  EXPECT_NE(other_partner.err.find("already used for another command"), std::string::npos) << other_partner.err;
  EXPECT_EQ(ok({"replay", "--events"}).size(), events);
  EXPECT_EQ(ok({"schedule", "list"})[0]["state"], "proposed");
}

// A script that retries an add, an update or an import after the thing was removed gets
// its first result, and is told of the removal (this used to crash the CLI).
TEST_P(CliSchedulingTest, ARetryWhoseCertificateOrPartnerWasRemovedSinceAnswersTheFirstResultAndTheRemoval) {
  const std::vector<std::string> add = {"--command-id", "add-globex", "partner", "add", "--id", "globex",
                                        "--protocol", "AS2", "--email", "edi@globex.example"};
  const std::vector<std::string> update = {"--command-id", "mail-globex", "partner", "update", "globex", "--email",
                                           "b2b@globex.example"};
  ok(add);
  ok(update);
  ok({"partner", "remove", "globex", "--reason", "contract ended"});
  const testing::CertFiles p2 = testing::CertFactory(store_->path()).make(CertSpec("p2"));
  const std::vector<std::string> import = {"--command-id", "import-p2", "cert", "import", "--alias", "p2",
                                           "--cert", p2.cert_pem, "--partner-cert"};
  const json imported = ok(import);
  EXPECT_EQ(ok(import)["fits"], imported["fits"]);  // a retry names the roles too
  ok({"cert", "remove", "p2", "--reason", "wrong file"});
  const size_t events = ok({"replay", "--events"}).size();

  for (const auto& retry : {add, update}) {
    json again = ok(retry);
    EXPECT_EQ(again["id"], "globex") << again.dump();
    EXPECT_EQ(again["reason"], "contract ended") << again.dump();
    auto text = cli().run(retry, false);
    EXPECT_EQ(text.exit_code, 0) << text.err;
    EXPECT_NE(text.out.find("removed since"), std::string::npos) << text.out;
  }
  json again = ok(import);
  EXPECT_EQ(again["alias"], "p2");
  EXPECT_EQ(again["duplicate"], true);
  EXPECT_EQ(again["reason"], "wrong file") << again.dump();
  EXPECT_EQ(again["fits"], imported["fits"]);
  EXPECT_EQ(ok({"replay", "--events"}).size(), events);  // retries write nothing
}

TEST_P(CliSchedulingTest, ObserveActivatesFirstUsageFromAnOpensslCmsMessage) {
  ok({"schedule", "propose", "--partners", "acme", "--role", "local-encryption=enc-new", "--at",
      domain::format_instant(base::now_ns() + 86400LL * 1'000'000'000), "--password-file", dir_->sub("pw.txt")});
  ok({"schedule", "confirm", "P1"});
  testing::write_file(store_->sub("payload.txt"), "hello from acme\n");
  testing::shell("openssl cms -encrypt -aes256 -in " + store_->sub("payload.txt") + " -recip " +
                 (*certs_)["enc-new"].cert_pem + " -out " + store_->sub("inbound.p7m"));
  json r = ok({"observe", "--partner", "acme", "--message", store_->sub("inbound.p7m")});
  ASSERT_EQ(r["activated"].size(), 1u);
  EXPECT_EQ(r["activated"][0]["role"], "local-encryption");
  EXPECT_EQ(ok({"partner", "show", "acme"})["current"]["local-encryption"]["alias"], "enc-new");
  EXPECT_NE(refused({"observe", "--partner", "acme", "--message", store_->sub("payload.txt")}).err.find("not S/MIME"),
            std::string::npos);
}

TEST_P(CliSchedulingTest, ServeActivatesAtTheDueInstantAndHoldsTheStore) {
  // A partner using the HTTP listener over SSL, so the proposal also installs a server certificate.
  ok({"partner", "add", "--id", "hooli", "--protocol", "AS4", "--email", "b2b@hooli.example", "--local-ssl-server", "sign-old"});
  ok({"listener", "configure", "HTTP", "--cert", "sign-old", "--dir", store_->sub("www"), "--reload-command", "true"});
  // A whole second some seconds ahead: enough for the two commands below even when slow.
  const int64_t at = (base::now_ns() / 1'000'000'000 + 6) * 1'000'000'000;
  json p = ok({"schedule", "propose", "--partners", "acme,hooli", "--role", "local-signing=sign-new", "--role",
               "local-ssl-server=sign-new", "--at", domain::format_instant(at), "--password-file", dir_->sub("pw.txt")});
  ASSERT_EQ(p["schedules"].size(), 3u) << p.dump();  // acme has no SSL server certificate: skipped
  ok({"schedule", "confirm", "P1"});
  ASSERT_LT(base::now_ns(), at) << "the setup took longer than the lead time";

  const std::string store = store_->sub("s");
  const std::string log = store_->sub("serve.log");
  const pid_t pid = testing::start_cli({"--store", store, "serve"}, log);

  // While serve runs: readers work, a second writer is told who holds the store.
  for (int i = 0; i < 400 && testing::read_file(log).find("serving store") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // until serve holds the store
  }
  // A write the API takes goes to serve; tick, which serve runs itself, names the holder.
  auto added = run_cli(with_store({"partner", "add", "--id", "x", "--protocol", "SFTP", "--email", "x@y.example"}, false));
  EXPECT_EQ(added.exit_code, 0) << added.err;
  auto second = run_cli(with_store({"tick"}, false));
  EXPECT_EQ(second.exit_code, 3);
  EXPECT_NE(second.err.find("certsched serve, API on http://127.0.0.1:8640"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("pid " + std::to_string(pid)), std::string::npos) << second.err;

  json activated;
  for (int i = 0; i < 100; ++i) {  // generous bound; the latency itself is printed, not asserted
    activated = ok({"schedule", "list", "--state", "activated"});
    if (activated.size() == 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(activated.size(), 3u) << testing::read_file(log);
  EXPECT_EQ(ok({"listener", "show", "HTTP"})[0]["current"]["alias"], "sign-new");
  EXPECT_EQ(testing::read_file(store_->sub("www") + "/cert.pem"), testing::read_file((*certs_)["sign-new"].cert_pem));
  const int64_t when = domain::parse_instant(activated[0]["activated_at"].get<std::string>()).value();
  EXPECT_GE(when, at) << "activated before its time";
  for (const auto& e : ok({"replay", "--events"})) {
    if (e["type"] == "ScheduleActivated") {
      EXPECT_EQ(e["actor"], "scheduler");
    }
  }
  std::cout << "[ serve    ] activation recorded at " << activated[0]["activated_at"].get<std::string>()
            << " for a schedule due at " << domain::format_instant(at) << "\n";

  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << testing::read_file(log);
  EXPECT_NE(testing::read_file(log).find("activated S1"), std::string::npos);
  EXPECT_NE(testing::read_file(log).find("installed the new server certificate on listener HTTP"), std::string::npos);
  EXPECT_EQ(ok({"replay", "--verify"})["verified"], true);
}

CERTSCHED_ON_BOTH_BACKENDS(CliSchedulingTest);

}  // namespace
}  // namespace certsched
