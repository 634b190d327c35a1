// Each front end adds its own remedy to the domain's words: the CLI its option, the API its
// JSON field; through the real binary, a refusal shows the CLI's.
#include <gtest/gtest.h>

#include "adapters/remedies.h"
#include "tests/cli_runner.h"
#include "tests/test_support.h"

namespace certsched::adapters {
namespace {

TEST(RemediesTest, TheCliAndTheApiEachNameTheirOwnWayToActOnIt) {
  const std::string m = "acme has no SSL client certificate: c not scheduled for it (forcing the SSL client "
                        "certificate schedules it anyway)";
  EXPECT_NE(with_remedies(m, FrontEnd::kCli).find("[--force-ssl-client]"), std::string::npos);
  EXPECT_NE(with_remedies(m, FrontEnd::kApi).find("[\"force_ssl_client\": true]"), std::string::npos);
  EXPECT_EQ(with_remedies("cancelling needs a reason", FrontEnd::kCli), "cancelling needs a reason [--reason TEXT]");
  EXPECT_EQ(with_remedies("cancelling needs a reason", FrontEnd::kApi), "cancelling needs a reason [\"reason\"]");
  EXPECT_EQ(with_remedies("no partner acme", FrontEnd::kCli), "no partner acme");  // nothing to add
  // Applied twice (a retried command's message), the remedy is not repeated.
  const std::string once = with_remedies("cancelling needs a reason", FrontEnd::kCli);
  EXPECT_EQ(with_remedies(once, FrontEnd::kCli), once);
}

// A refusal forwarded to serve comes back worded for the API; the CLI shows its own remedy.
TEST(RemediesTest, AnApiRefusalIsShownWithTheCliRemedyOnly) {
  const std::string domain = "partner id acme belonged to a partner removed on 2026-12-01T00:00:00Z (x); a new partner "
                             "takes it only by reusing the id on purpose";
  const std::string api = with_remedies(domain, FrontEnd::kApi);
  EXPECT_NE(api, domain);
  EXPECT_EQ(without_remedies(api, FrontEnd::kApi), domain);
  EXPECT_EQ(with_remedies(without_remedies(api, FrontEnd::kApi), FrontEnd::kCli), with_remedies(domain, FrontEnd::kCli));
  EXPECT_EQ(without_remedies("no partner acme", FrontEnd::kApi), "no partner acme");
}

TEST(RemediesTest, ARefusalThroughTheBinaryNamesTheCliOption) {
  testing::TempDir dir;
  const std::string store = dir.sub("store");
  ASSERT_EQ(testing::run_cli({"--store", store, "init", "--admin-email", "pki@example.com"}).exit_code, 0);
  auto r = testing::run_cli({"--store", store, "--json", "schedule", "propose", "--partners", "acme", "--role",
                             "partner-signing=p", "--at", "now", "--email-partners"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("no SMTP server is configured [certsched init --smtp URL]"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace certsched::adapters
