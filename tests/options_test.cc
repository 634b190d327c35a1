// The system options through the binary: set at init, shown, changed (each change an
// audited event), refused when wrong with nothing appended, changed through a running
// serve, and used from then on: the admin's mail goes to the new address.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/cert_factory.h"
#include "tests/cli_runner.h"
#include "tests/http_client.h"
#include "tests/servers.h"
#include "tests/test_support.h"

namespace certsched {
namespace {

using nlohmann::json;

class OptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::StoreCli(store_).ok({"init", "--admin-email", "pki@example.com", "--expiry-alert-days", "45,7,14"});
  }
  testing::TempDir dir_;
  std::string store_ = dir_.sub("store");
  testing::StoreCli cli_{store_};
};

TEST_F(OptionsTest, InitSetsThemAndEachChangeIsAnAuditedEvent) {
  json shown = cli_.ok({"options", "show"});
  // The evidence key init made, for an auditor to pin: its public part and its id.
  EXPECT_EQ(shown["evidence_key_id"].get<std::string>().size(), 64u);
  EXPECT_EQ(shown["evidence_public_key"].get<std::string>().rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
  shown.erase("evidence_key_id");
  shown.erase("evidence_public_key");
  EXPECT_EQ(shown, json({{"admin_email", "pki@example.com"}, {"smtp", ""}, {"mail_from", "certsched@localhost"},
                         {"expiry_alert_days", {45, 14, 7}}}));
  const json set = cli_.ok({"options", "set", "--admin-email", "pki-team@example.com", "--mail-from",
                            "rotation@example.com"});
  EXPECT_EQ(set["admin_email"], "pki-team@example.com");
  EXPECT_EQ(set["expiry_alert_days"], json({45, 14, 7}));  // untouched
  EXPECT_EQ(cli_.ok({"options", "show"}), set);
  cli_.ok({"options", "set", "--expiry-alert-days", "30"});
  EXPECT_EQ(cli_.ok({"options", "show"})["expiry_alert_days"], json({30}));

  const json audit = cli_.ok({"audit"});
  int changes = 0;
  for (const auto& a : audit) {
    if (a["event"] != "SystemOptionsChanged") continue;
    ++changes;
    EXPECT_EQ(a["interface"], "cli");
  }
  EXPECT_EQ(changes, 3);  // init's thresholds, then the two changes
  EXPECT_NE(audit.dump().find("system options set: admin pki-team@example.com"), std::string::npos);
  EXPECT_EQ(cli_.ok({"replay", "--verify"})["verified"], true);
  // Replayed as of the first event, the store had its init options.
  EXPECT_EQ(cli_.ok({"replay"})["deterministic"], true);
}

TEST_F(OptionsTest, WrongOptionsAreRefusedAndChangeNothing) {
  EXPECT_NE(cli_.refused({"options", "set", "--admin-email", "not-an-address"}).err.find("not an email address"),
            std::string::npos);
  EXPECT_NE(cli_.refused({"options", "set", "--smtp", "http://relay"}).err.find("smtp://"), std::string::npos);
  EXPECT_NE(cli_.refused({"options", "set", "--expiry-alert-days", "30,0"}).err.find("1 to 3650"), std::string::npos);
  EXPECT_NE(cli_.refused({"options", "set", "--expiry-alert-days", "30,x"}).err.find("whole days"), std::string::npos);
  EXPECT_NE(cli_.refused({"options", "set", "--expiry-alert-days", "7,7"}).err.find("given twice"), std::string::npos);
  EXPECT_NE(cli_.refused({"options", "set"}).err.find("at least one option"), std::string::npos);
  EXPECT_NE(cli_.refused({"options", "set", "--admin-email", "pki@example.com"}).err.find("already so"),
            std::string::npos);
  cli_.refused({"init", "--admin-email", "x@example.com"});  // the store exists: init is not a way around
}

TEST_F(OptionsTest, ChangedThroughARunningServeAndUsedForTheNextMail) {
  testing::SmtpServer smtp(dir_.sub("maildir"));
  smtp.start();
  testing::ServeProcess serve = testing::start_serve(store_, dir_.sub("serve.log"));
  ASSERT_TRUE(serve.ready) << testing::read_file(dir_.sub("serve.log"));
  auto remote = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--server", serve.base_url, "--json"});
    return testing::run_cli(args, {"CERTSCHED_TOKEN=" + serve.token});
  };
  auto set = remote({"options", "set", "--smtp", smtp.url(), "--admin-email", "night-shift@example.com"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(json::parse(set.out)["smtp"], smtp.url());
  auto shown = remote({"options", "show"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  testing::HttpRequest get;
  get.url = serve.base_url + "/v1/options";
  get.token = serve.token;
  EXPECT_EQ(json::parse(shown.out), testing::http_call(get).body);
  auto refused = remote({"options", "set", "--admin-email", "nobody"});
  EXPECT_EQ(refused.exit_code, 3) << refused.err;
  testing::HttpRequest put = get;
  put.method = "PUT";
  put.body = R"({"admin_email":"x@example.com","colour":"blue"})";
  EXPECT_EQ(testing::http_call(put).status, 400);

  // The next admin mail (a certificate activated) goes to the new address.
  testing::CertFactory f(dir_.path());
  const auto p1 = f.make(testing::CertSpec("psign-old"));
  const auto p2 = f.make(testing::CertSpec("psign-new"));
  testing::stop_serve(serve);
  cli_.ok({"cert", "import", "--alias", "psign-old", "--cert", p1.cert_pem, "--partner-cert"});
  cli_.ok({"cert", "import", "--alias", "psign-new", "--cert", p2.cert_pem, "--partner-cert"});
  cli_.ok({"partner", "add", "--id", "acme", "--protocol", "AS2", "--email", "edi@acme.example", "--partner-signing",
           "psign-old"});
  cli_.ok({"schedule", "propose", "--partners", "acme", "--role", "partner-signing=psign-new", "--at", "now"});
  cli_.ok({"schedule", "confirm", "P1"});
  cli_.ok({"tick"});
  const auto mail = smtp.messages();
  ASSERT_FALSE(mail.empty());
  EXPECT_NE(mail.back().find("To: night-shift@example.com"), std::string::npos) << mail.back();
}

}  // namespace
}  // namespace certsched
