// The changes operators make every week, as they make them with the CLI: a partner's
// details corrected, a partner retired, an old certificate retired with its key. Each
// refusal names what stands in the way and appends nothing; what is removed stays in
// the history (audit, point-in-time answers, the history report).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>

#include "base/clock.h"
#include "domain/instant.h"
#include "tests/cert_factory.h"
#include "tests/cli_runner.h"
#include "tests/test_support.h"

namespace certsched {
namespace {

using nlohmann::json;
using testing::CertSpec;

bool mentions(const testing::CliResult& r, const std::string& text) { return r.err.find(text) != std::string::npos; }

// The sealed key files in DIR/keys.
size_t sealed_keys(const std::string& store) { return testing::files_in(store + "/keys"); }

class PartnerChangesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::CertFactory f(dir_->path());
    certs_ = new std::map<std::string, testing::CertFiles>();
    for (const char* n : {"sign-old", "sign-new", "enc-spare"}) (*certs_)[n] = f.make(CertSpec(n).password("pw"));
    for (const char* n : {"tls-http", "tls-http-next", "tls-ftp", "tls-ftp-next"}) {
      (*certs_)[n] = f.make(CertSpec(n).extended_usage("serverAuth").password("pw"));
    }
    for (const char* n : {"acme-sign", "globex-sign"}) (*certs_)[n] = f.make(CertSpec(n));
    testing::write_file(dir_->sub("pw.txt"), "pw\n");
  }
  static void TearDownTestSuite() {
    delete certs_;
    delete dir_;
  }
  void SetUp() override {
    store_ = std::make_unique<testing::TempDir>();
    ok({"init", "--admin-email", "pki@example.com"});
    for (const auto& [alias, files] : *certs_) {
      if (alias == "acme-sign" || alias == "globex-sign") {
        ok({"cert", "import", "--alias", alias, "--cert", files.cert_pem, "--partner-cert"});
      } else {
        ok({"cert", "import", "--alias", alias, "--cert", files.cert_pem, "--key", files.key_pem, "--password-file",
            dir_->sub("pw.txt")});
      }
    }
    ok({"partner", "add", "--id", "acme", "--protocol", "AS2", "--email", "edi@acme.example", "--local-signing",
        "sign-old", "--partner-signing", "acme-sign"});
  }
  json ok(const std::vector<std::string>& args) { return cli().ok(args); }
  testing::CliResult refused(const std::vector<std::string>& args, int code = 3) { return cli().refused(args, code); }
  testing::StoreCli cli() const { return testing::StoreCli(store_->sub("s")); }
  std::string pw() const { return dir_->sub("pw.txt"); }
  // The events of the audit trail that `args` filters, by type.
  std::vector<std::string> audited(std::vector<std::string> args) {
    args.insert(args.begin(), "audit");
    std::vector<std::string> events;
    for (const auto& e : ok(args)) events.push_back(e["event"]);
    return events;
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline std::map<std::string, testing::CertFiles>* certs_ = nullptr;
  std::unique_ptr<testing::TempDir> store_;
};

TEST_F(PartnerChangesTest, EachDetailChangesAsAnAuditedEvent) {
  json p = ok({"partner", "update", "acme", "--email", "b2b@acme.example"});
  EXPECT_EQ(p["email"], "b2b@acme.example");
  EXPECT_EQ(p["protocol"], "AS2");
  EXPECT_EQ(p["current"]["local-signing"]["alias"], "sign-old") << "the certificates stay";
  p = ok({"partner", "update", "acme", "--protocol", "AS4", "--cem"});
  EXPECT_EQ(p["protocol"], "AS4");
  EXPECT_EQ(p["cem"], true);
  EXPECT_EQ(p["listener"], "HTTP");
  EXPECT_EQ(ok({"partner", "update", "acme", "--no-cem"})["cem"], false);

  json shown = ok({"partner", "show", "acme"});
  EXPECT_EQ(shown["email"], "b2b@acme.example");
  EXPECT_EQ(shown["protocol"], "AS4");
  EXPECT_EQ(audited({"--partner", "acme"}),
            (std::vector<std::string>{"PartnerAdded", "PartnerUpdated", "PartnerUpdated", "PartnerUpdated"}));
  const json trail = ok({"audit", "--partner", "acme"});
  EXPECT_NE(trail[2]["what"].get<std::string>().find("AS4, CEM"), std::string::npos) << trail[2];

  EXPECT_TRUE(mentions(refused({"partner", "update", "acme", "--protocol", "AS4"}), "nothing was changed"));
  EXPECT_TRUE(mentions(refused({"partner", "update", "acme"}), "name at least one change"));
  EXPECT_TRUE(mentions(refused({"partner", "update", "acme", "--email", "not-an-address"}), "not an email address"));
  EXPECT_TRUE(mentions(refused({"partner", "update", "acme", "--protocol", "X400"}), "is not one of"));
  EXPECT_TRUE(mentions(refused({"partner", "update", "nobody", "--cem"}), "no partner nobody"));
  refused({"partner", "update", "acme", "--cem", "--no-cem"}, 2);
}

TEST_F(PartnerChangesTest, AProtocolThatMovesTheListenerWaitsForTheOpenServerSchedule) {
  ok({"listener", "configure", "HTTP", "--cert", "tls-http", "--dir", store_->sub("www")});
  ok({"listener", "configure", "FTP", "--cert", "tls-ftp", "--dir", store_->sub("ftp")});
  ok({"partner", "add", "--id", "edge", "--protocol", "AS2", "--email", "edi@edge.example", "--local-ssl-server", "tls-http"});
  ok({"partner", "add", "--id", "globex", "--protocol", "AS3", "--email", "edi@globex.example", "--local-ssl-server",
      "tls-ftp"});
  ok({"schedule", "propose", "--partners", "edge", "--role", "local-ssl-server=tls-http-next", "--at", "now",
      "--password-file", pw()});

  const auto moved = refused({"partner", "update", "edge", "--protocol", "AS3"});
  EXPECT_TRUE(mentions(moved, "S1")) << moved.err;
  EXPECT_TRUE(mentions(moved, "listener FTP")) << moved.err;
  ok({"partner", "update", "edge", "--protocol", "AS4"});  // still the HTTP listener: allowed
  ok({"schedule", "decline", "P1"});

  // globex's listener gets a new certificate; edge, moving onto it, must take it too.
  ok({"schedule", "propose", "--partners", "globex", "--role", "local-ssl-server=tls-ftp-next", "--at", "now",
      "--password-file", pw()});
  ok({"schedule", "confirm", "P2"});
  const json ftp_before = ok({"listener", "show", "FTP"});
  EXPECT_EQ(ftp_before[0]["pending"]["blocked_by"], json::array()) << ftp_before;
  const auto update = cli().run({"partner", "update", "edge", "--protocol", "FTP"}, false);
  ASSERT_EQ(update.exit_code, 0) << update.err;
  EXPECT_NE(update.err.find("now uses listener FTP instead of HTTP"), std::string::npos) << update.err;
  const json ftp_after = ok({"listener", "show", "FTP"});
  EXPECT_EQ(ftp_after[0]["pending"]["blocked_by"], json::array({"edge"})) << ftp_after;
  bool reported = false;
  for (const auto& row : ok({"report", "blockers"})) reported |= row["subject"] == "FTP" && row["partner"] == "edge";
  EXPECT_TRUE(reported) << "report blockers follows the new protocol";

  // Removing the partner that blocks the listener lets the install go ahead.
  ok({"partner", "remove", "edge", "--reason", "moved to another hub"});
  EXPECT_EQ(ok({"listener", "show", "FTP"})[0]["pending"]["blocked_by"], json::array());
}

TEST_F(PartnerChangesTest, ARemovedPartnerLeavesThePresentAndStaysInHistory) {
  ok({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at", "now", "--password-file", pw()});
  const auto open = refused({"partner", "remove", "acme", "--reason", "contract ended"});
  EXPECT_TRUE(mentions(open, "S1 (local-signing, proposal P1, proposed)")) << open.err;
  ok({"schedule", "confirm", "P1"});
  EXPECT_TRUE(mentions(refused({"partner", "remove", "acme", "--reason", "contract ended"}), "S1"));
  ok({"tick"});
  EXPECT_TRUE(mentions(refused({"partner", "remove", "acme", "--reason", "   "}), "needs a reason"));
  const uint64_t before_removal = ok({"replay", "--verify"})["events"];

  const json removed = ok({"partner", "remove", "acme", "--reason", "contract ended"});
  EXPECT_EQ(removed["id"], "acme");
  EXPECT_EQ(removed["reason"], "contract ended");
  EXPECT_EQ(removed["removed_by"].get<std::string>().rfind("cli:", 0), 0u) << removed;

  // Gone from the present...
  EXPECT_EQ(ok({"partner", "list"}), json::array());
  EXPECT_TRUE(mentions(refused({"partner", "show", "acme"}), "no partner acme"));
  EXPECT_EQ(ok({"report", "inventory"}), json::array());
  EXPECT_TRUE(mentions(refused({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-old", "--at",
                                "now", "--password-file", pw()}),
                       "partner acme was removed"));
  // ... kept in the past.
  const json history = ok({"report", "history"});
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0]["partner"], "acme");
  EXPECT_EQ(history[0]["previous_alias"], "sign-old");
  EXPECT_EQ(audited({"--partner", "acme"}).back(), "PartnerRemoved");
  const json then = ok({"replay", "--position", std::to_string(before_removal)});
  ASSERT_EQ(then["partners"].size(), 1u);
  EXPECT_EQ(then["partners"][0]["current"]["local-signing"]["alias"], "sign-new");
  // sign-old is no longer used by anyone: it can go too.
  ok({"cert", "remove", "sign-old", "--reason", "replaced by sign-new"});

  // The id is not taken again by accident; on purpose, it is a new partner.
  const auto again = refused({"partner", "add", "--id", "acme", "--protocol", "AS2", "--email", "new@acme.example"});
  EXPECT_TRUE(mentions(again, "--reuse-id")) << again.err;
  const json fresh = ok({"partner", "add", "--id", "acme", "--protocol", "AS4", "--email", "new@acme.example", "--reuse-id"});
  EXPECT_EQ(fresh["current"], json::object()) << "nothing of the old partner carries over";
  const json trail = ok({"audit", "--partner", "acme"});
  EXPECT_NE(trail.back()["what"].get<std::string>().find("as a new partner"), std::string::npos) << trail.back();
  EXPECT_EQ(ok({"report", "history"})[0]["partner"], "acme");
  EXPECT_TRUE(ok({"replay", "--verify"})["verified"]);
}

TEST_F(PartnerChangesTest, ACertificateInUseAnywhereIsNotRemoved) {
  ok({"listener", "configure", "HTTP", "--cert", "tls-http", "--dir", store_->sub("www")});
  ok({"partner", "add", "--id", "edge", "--protocol", "AS2", "--email", "edi@edge.example", "--local-ssl-server", "tls-http"});
  ok({"schedule", "propose", "--partners", "edge", "--role", "local-ssl-server=tls-http-next", "--at", "now",
      "--password-file", pw()});
  const std::string in_a_month = domain::format_instant(base::now_ns() + 30 * 86400LL * 1'000'000'000);
  ok({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at", in_a_month,
      "--password-file", pw()});

  EXPECT_TRUE(mentions(refused({"cert", "remove", "sign-old", "--reason", "old"}), "current local-signing of partner acme"));
  EXPECT_TRUE(mentions(refused({"cert", "remove", "acme-sign", "--reason", "old"}), "current partner-signing of partner acme"));
  EXPECT_TRUE(mentions(refused({"cert", "remove", "sign-new", "--reason", "old"}), "scheduled for partner acme by S2"));
  const auto listener = refused({"cert", "remove", "tls-http", "--reason", "old"});
  EXPECT_TRUE(mentions(listener, "installed on listener HTTP")) << listener.err;
  EXPECT_TRUE(mentions(listener, "current local-ssl-server of partner edge")) << listener.err;
  EXPECT_TRUE(mentions(refused({"cert", "remove", "tls-http-next", "--reason", "old"}), "pending on listener HTTP (proposal P1)"));
  EXPECT_TRUE(mentions(refused({"cert", "remove", "nothing-here", "--reason", "old"}), "no certificate with alias nothing-here"));
  EXPECT_TRUE(mentions(refused({"cert", "remove", "enc-spare", "--reason", ""}), "needs a reason"));
  refused({"cert", "remove", "enc-spare"}, 2);
  EXPECT_EQ(ok({"cert", "list"}).size(), certs_->size());
}

TEST_F(PartnerChangesTest, ARemovedCertificateLeavesTheListAndItsKeyIsDestroyed) {
  const std::string store = cli().store();
  const std::string fingerprint = (*certs_)["enc-spare"].fingerprint;
  const size_t keys = sealed_keys(store);
  const json removed = ok({"cert", "remove", "enc-spare", "--reason", "never used; key exposure drill"});
  EXPECT_EQ(removed["alias"], "enc-spare");
  EXPECT_EQ(removed["fingerprint"], fingerprint);
  EXPECT_EQ(removed["sealed_key_destroyed"], true);
  EXPECT_EQ(sealed_keys(store), keys - 1);
  for (const auto& c : ok({"cert", "list"})) EXPECT_NE(c["alias"], "enc-spare");
  EXPECT_EQ(audited({"--cert", "enc-spare"}), (std::vector<std::string>{"CertificateImported", "CertificateRemoved"}));
  EXPECT_TRUE(mentions(refused({"cert", "remove", "enc-spare", "--reason", "again"}), "was removed on"));
  EXPECT_TRUE(mentions(refused({"cert", "import", "--alias", "enc-spare", "--cert", (*certs_)["enc-spare"].cert_pem,
                                "--key", (*certs_)["enc-spare"].key_pem, "--password-file", pw()}),
                       "choose another alias"));
  // The same certificate under a new alias is a new import, with its key sealed again.
  ok({"cert", "import", "--alias", "enc-spare-2", "--cert", (*certs_)["enc-spare"].cert_pem, "--key",
      (*certs_)["enc-spare"].key_pem, "--password-file", pw()});
  EXPECT_EQ(sealed_keys(store), keys);

  // A partner's certificate has no key to destroy.
  const json partner_cert = ok({"cert", "remove", "globex-sign", "--reason", "globex never signed"});
  EXPECT_EQ(partner_cert["local"], false);
  EXPECT_EQ(partner_cert["sealed_key_destroyed"], false);
  EXPECT_EQ(sealed_keys(store), keys);
}

// A crash after the removal is recorded but before the key is destroyed leaves the key:
// the next command that opens the store destroys it.
TEST_F(PartnerChangesTest, AKeyLeftByACrashIsDestroyedOnTheNextOpen) {
  const std::string store = cli().store();
  const size_t keys = sealed_keys(store);
  const std::string saved = store_->sub("saved-keys");
  std::filesystem::copy(store + "/keys", saved);
  ok({"cert", "remove", "enc-spare", "--reason", "retired"});
  ASSERT_EQ(sealed_keys(store), keys - 1);
  std::filesystem::copy(saved, store + "/keys", std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  ASSERT_EQ(sealed_keys(store), keys);
  ok({"cert", "list"});
  EXPECT_EQ(sealed_keys(store), keys - 1);
}

}  // namespace
}  // namespace certsched
