// GET /metrics of a real `serve`: the same token as the API, Prometheus text that promtool
// accepts, and figures that agree with what the CLI shows of the same store.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "tests/cert_factory.h"
#include "tests/cli_runner.h"
#include "tests/http_client.h"
#include "tests/servers.h"
#include "tests/test_support.h"

namespace certsched {
namespace {

using nlohmann::json;

// The value of the sample `name{labels}` (labels as promtool prints them), or -1.
double sample(const std::string& text, const std::string& name_and_labels) {
  const size_t at = text.find("\n" + name_and_labels + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name_and_labels.size() + 2));
}

TEST(MetricsTest, ServeExposesPrometheusTextThatAgreesWithTheStore) {
  testing::TempDir dir;
  const std::string store = dir.sub("store");
  testing::StoreCli cli(store);
  testing::CertFactory f(dir.path());
  testing::write_file(dir.sub("pw.txt"), "pw\n");
  cli.ok({"init", "--admin-email", "pki@example.com"});
  for (const char* n : {"srv-old", "srv-new"}) {
    const auto c = f.make(testing::CertSpec(n).password("pw").extended_usage("serverAuth"));
    cli.ok({"cert", "import", "--alias", n, "--cert", c.cert_pem, "--key", c.key_pem, "--password-file", dir.sub("pw.txt")});
  }
  const auto partner = f.make(testing::CertSpec("psign").valid_days(20));
  cli.ok({"cert", "import", "--alias", "psign", "--cert", partner.cert_pem, "--partner-cert"});
  for (const char* id : {"acme", "globex"}) {
    cli.ok({"partner", "add", "--id", id, "--protocol", "AS2", "--email", std::string("edi@") + id + ".example",
            "--local-ssl-server", "srv-old", "--partner-signing", "psign"});
  }
  std::filesystem::create_directories(dir.sub("www"));
  cli.ok({"listener", "configure", "HTTP", "--cert", "srv-old", "--dir", dir.sub("www")});
  // acme moves to srv-new now; globex has no schedule for it yet, so the listener is blocked.
  cli.ok({"schedule", "propose", "--partners", "acme", "--role", "local-ssl-server=srv-new", "--at", "now",
          "--password-file", dir.sub("pw.txt")});
  cli.ok({"schedule", "confirm", "P1"});
  const json acme = cli.ok({"partner", "show", "acme"});

  testing::ServeProcess serve = testing::start_serve(store, dir.sub("serve.log"));
  ASSERT_TRUE(serve.ready) << testing::read_file(dir.sub("serve.log"));
  testing::HttpRequest scrape;
  scrape.url = serve.base_url + "/metrics";
  EXPECT_EQ(testing::http_call(scrape).status, 401);  // the API's token is needed
  scrape.token = serve.token;
  const testing::HttpReply reply = testing::http_call(scrape);
  testing::stop_serve(serve);
  ASSERT_EQ(reply.status, 200) << reply.text;
  const std::string& text = reply.text;

  testing::write_file(dir.sub("metrics.txt"), text);
  EXPECT_EQ(testing::shell("promtool check metrics < " + dir.sub("metrics.txt") + " 2>&1; echo rc=$?"), "rc=0\n");

  // The expiry of acme's partner-signing certificate is its not_after, in seconds.
  const double expiry = sample(text, R"(certsched_certificate_expiration_timestamp_seconds{partner="acme",role="partner-signing",alias="psign"})");
  const std::string not_after = acme["current"]["partner-signing"]["not_after"];
  EXPECT_EQ(testing::shell("date -d " + not_after + " +%s"), std::to_string(static_cast<int64_t>(expiry)) + "\n");
  EXPECT_GT(sample(text, R"(certsched_certificate_expiration_timestamp_seconds{listener="HTTP",role="local-ssl-server",alias="srv-old"})"), 0);
  EXPECT_EQ(sample(text, R"(certsched_schedules{state="pending"})"), 1);
  EXPECT_EQ(sample(text, R"(certsched_schedules_overdue)"), 1);
  EXPECT_EQ(sample(text, R"(certsched_listener_blocked{listener="HTTP"})"), 1);
  EXPECT_GE(sample(text, R"(certsched_listener_blocked_seconds{listener="HTTP"})"), 0);
  const json verified = cli.ok({"replay", "--verify"});
  EXPECT_EQ(sample(text, "certsched_log_position"), verified["events"].get<double>());
  EXPECT_EQ(sample(text, "certsched_last_activation_timestamp_seconds"), 0);  // nothing activated yet
  EXPECT_NE(text.find("# TYPE certsched_append_duration_seconds summary"), std::string::npos);
}

}  // namespace
}  // namespace certsched
