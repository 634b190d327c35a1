// Expiry alerts as an operator meets them: real certificates made by openssl with a few
// weeks of validity, a real SMTP server (aiosmtpd), and libfaketime walking the clock of
// `certsched tick` across the thresholds (30, 14, 7 days, then expired). Exactly the
// expected mails arrive, in order, with what the admin needs; a tick run twice, a replay
// and a restarted serve never send one twice; a confirmed replacement stops the later
// alerts; `report expiring` and /metrics say what was alerted.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>

#include "tests/cert_factory.h"
#include "tests/cli_runner.h"
#include "tests/http_client.h"
#include "tests/servers.h"
#include "tests/test_support.h"

namespace certsched {
namespace {

using nlohmann::json;
using testing::CertSpec;

// The environment that runs certsched `days` days from now (libfaketime, Debian's faketime).
// Under AddressSanitizer, the preloaded library comes before ASan's runtime, which ASan
// must be told is fine.
std::vector<std::string> days_later(int days) {
  const char* asan = std::getenv("ASAN_OPTIONS");
  return {"LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1", "FAKETIME=+" + std::to_string(days) + "d",
          "FAKETIME_DONT_FAKE_MONOTONIC=1",
          std::string("ASAN_OPTIONS=") + (asan && *asan ? std::string(asan) + ":" : "") + "verify_asan_link_order=0"};
}

std::string header(const std::string& message, const std::string& name) {
  const size_t at = message.find("\n" + name + ": ");
  if (at == std::string::npos) return "";
  const size_t from = at + name.size() + 3;
  return message.substr(from, message.find_first_of("\r\n", from) - from);
}

class ExpiryAlertsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::CertFactory f(work_.path());
    // sign-short and tls-short expire in 40 days; the replacement lasts a year.
    certs_["sign-short"] = f.make(CertSpec("sign-short").valid_days(40).password("pw"));
    certs_["tls-short"] = f.make(CertSpec("tls-short").valid_days(40).extended_usage("serverAuth").password("pw"));
    certs_["sign-next"] = f.make(CertSpec("sign-next").password("pw"));
    testing::write_file(work_.sub("pw.txt"), "pw\n");
    smtp_.start();
    ok({"init", "--admin-email", "pki@example.com", "--smtp", smtp_.url()});
    for (const auto& [alias, files] : certs_) {
      ok({"cert", "import", "--alias", alias, "--cert", files.cert_pem, "--key", files.key_pem, "--password-file",
          work_.sub("pw.txt")});
    }
    ok({"partner", "add", "--id", "acme", "--protocol", "AS2", "--email", "edi@acme.example", "--local-signing", "sign-short"});
    ok({"partner", "add", "--id", "globex", "--protocol", "AS2", "--email", "b2b@globex.example", "--local-ssl-server",
        "tls-short"});
    ok({"listener", "configure", "HTTP", "--cert", "tls-short", "--dir", work_.sub("www")});
  }

  json ok(const std::vector<std::string>& args, int days = 0) {
    const testing::CliResult r = cli_.run(args, true, days ? days_later(days) : std::vector<std::string>{});
    EXPECT_EQ(r.exit_code, 0) << "certsched " << args[0] << " (+" << days << "d): " << r.err;
    return json::parse(r.out, nullptr, false);
  }
  // `tick` on day `days`: the alerts it raised.
  std::vector<std::string> tick(int days) { return ok({"tick"}, days)["alerts"].get<std::vector<std::string>>(); }
  // The subjects of the expiry mails received so far, oldest first.
  std::vector<std::string> expiry_subjects() {
    std::vector<std::string> out;
    for (const auto& m : smtp_.messages()) {
      const std::string subject = header(m, "Subject");
      if (subject.find("expire") != std::string::npos) out.push_back(subject);
    }
    return out;
  }
  std::string expiry_mail(const std::string& subject_part) {
    for (const auto& m : smtp_.messages()) {
      if (header(m, "Subject").find(subject_part) != std::string::npos) return m;
    }
    return "";
  }

  testing::TempDir work_;
  std::map<std::string, testing::CertFiles> certs_;
  testing::SmtpServer smtp_{work_.sub("maildir")};
  testing::StoreCli cli_{work_.sub("store")};
};

TEST_F(ExpiryAlertsTest, EachThresholdMailsOnceThenEveryDayOnceExpired) {
  EXPECT_TRUE(tick(5).empty()) << "35 days left: no threshold yet";
  EXPECT_EQ(tick(11), (std::vector<std::string>{"expiry/sign-short/30d", "expiry/tls-short/30d"}));
  EXPECT_TRUE(tick(11).empty()) << "the same day again";
  EXPECT_TRUE(tick(12).empty()) << "still only the 30-day threshold crossed";
  ASSERT_EQ(expiry_subjects().size(), 2u);

  // The mail names the certificate, its expiry and fingerprint, who uses it, and that
  // nothing replaces it yet.
  const std::string tls = expiry_mail("tls-short expires within 30 days");
  ASSERT_FALSE(tls.empty());
  EXPECT_NE(tls.find(certs_["tls-short"].fingerprint), std::string::npos);
  EXPECT_NE(tls.find("partner globex local-ssl-server: no replacement scheduled"), std::string::npos) << tls;
  EXPECT_NE(tls.find("listener HTTP: no replacement scheduled"), std::string::npos) << tls;
  EXPECT_EQ(header(tls, "To"), "pki@example.com");

  // A confirmed replacement for acme, activating before sign-short expires, ends its alerts.
  ok({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-next", "--at",
      testing::shell("date -u -d '+38 days' +%Y-%m-%dT%H:%M:%SZ").substr(0, 20), "--password-file", work_.sub("pw.txt")},
     12);
  EXPECT_EQ(tick(27), (std::vector<std::string>{"expiry/sign-short/14d", "expiry/tls-short/14d"}))
      << "only proposed: not a replacement yet";
  ok({"schedule", "confirm", "P1"}, 27);
  EXPECT_EQ(tick(34), (std::vector<std::string>{"expiry/tls-short/7d"}));
  EXPECT_EQ(ok({"replay", "--verify"}, 34)["verified"], true);
  EXPECT_TRUE(tick(34).empty()) << "nor after a replay";

  // Expired and still in use: once a day.
  EXPECT_EQ(tick(41).size(), 1u);
  EXPECT_TRUE(tick(41).empty());
  const std::vector<std::string> next_day = tick(42);
  ASSERT_EQ(next_day.size(), 1u);
  EXPECT_EQ(next_day[0].rfind("expired/tls-short/", 0), 0u) << next_day[0];

  const std::vector<std::string> subjects = expiry_subjects();
  const std::vector<std::string> expected = {
      "certsched: certificate sign-short expires within 30 days", "certsched: certificate tls-short expires within 30 days",
      "certsched: certificate sign-short expires within 14 days", "certsched: certificate tls-short expires within 14 days",
      "certsched: certificate tls-short expires within 7 days",   "certsched: certificate tls-short has expired",
      "certsched: certificate tls-short has expired"};
  ASSERT_EQ(subjects.size(), expected.size()) << json(subjects).dump(1);
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(subjects[i].rfind(expected[i], 0), 0u) << subjects[i];

  // The trail has each alert once, and the report and the metrics say the same.
  size_t alerts = 0;
  for (const auto& e : ok({"audit"}, 42)) alerts += e["event"] == "ExpiryAlertRaised";
  EXPECT_EQ(alerts, expected.size());
  bool tls_reported = false;
  for (const auto& row : ok({"report", "expiring", "--within", "60"}, 42)) {
    EXPECT_NE(row["alias"], "sign-short") << "replaced on day 38";
    if (row["alias"] == "tls-short") {
      tls_reported = true;
      EXPECT_EQ(row["alerted"], "expired");
    }
  }
  EXPECT_TRUE(tls_reported);

  // A serve started on the same day raises nothing again, and /metrics agrees.
  testing::ServeProcess serve = testing::start_serve(cli_.store(), work_.sub("serve.log"), {}, "", days_later(42));
  ASSERT_TRUE(serve.ready) << testing::read_file(work_.sub("serve.log"));
  const testing::HttpReply metrics = testing::serve_call(serve, "GET", "/metrics");
  EXPECT_NE(metrics.text.find("certsched_expiry_alerts_total " + std::to_string(expected.size())), std::string::npos)
      << metrics.text;
  EXPECT_NE(metrics.text.find("certsched_certificate_expiry_alert_threshold_seconds{alias=\"tls-short\""), std::string::npos);
  EXPECT_EQ(metrics.text.find("certsched_certificate_expiry_alert_threshold_seconds{alias=\"sign-short\""), std::string::npos)
      << "no longer in use";
  EXPECT_EQ(testing::stop_serve(serve), 0);
  EXPECT_EQ(expiry_subjects().size(), expected.size()) << "serve resent an alert";
}

// A certificate first seen well inside the thresholds gets one mail, for the tightest one.
TEST_F(ExpiryAlertsTest, ACertificateAlreadyCloseToExpiryIsAlertedOnce) {
  EXPECT_EQ(tick(36), (std::vector<std::string>{"expiry/sign-short/7d", "expiry/tls-short/7d"}));
  EXPECT_TRUE(tick(37).empty());
  EXPECT_EQ(expiry_subjects().size(), 2u);
}

// Without thresholds in the options, nothing is alerted.
TEST_F(ExpiryAlertsTest, ThresholdsComeFromTheSystemOptions) {
  ok({"options", "set", "--expiry-alert-days", "45"});
  EXPECT_EQ(tick(1), (std::vector<std::string>{"expiry/sign-short/45d", "expiry/tls-short/45d"}));
  EXPECT_TRUE(tick(20).empty()) << "30 is no threshold any more";
}

}  // namespace
}  // namespace certsched
