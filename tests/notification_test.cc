// Partner and admin mail through a real SMTP server on loopback (Debian's aiosmtpd).
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <set>

#include "domain/instant.h"

#include "adapters/notifier.h"
#include "tests/engine_fixture.h"
#include "tests/servers.h"

namespace certsched {
namespace {

using domain::Role;
using statemachines::ScheduleState;
using testing::read_file;

std::string header(const std::string& message, const std::string& name) {
  const std::string key = "\n" + name + ": ";
  const size_t at = ("\n" + message).find(key);
  if (at == std::string::npos) return "";
  const size_t start = at + key.size() - 1;
  return message.substr(start, message.find('\n', start) - start);
}

// The decoded body of the attachment named `filename`.
std::string attachment(const std::string& message, const std::string& filename) {
  const size_t named = message.find("filename=\"" + filename + "\"");
  if (named == std::string::npos) return "";
  const size_t start = message.find("\r\n\r\n", named) != std::string::npos ? message.find("\r\n\r\n", named) + 4
                                                                            : message.find("\n\n", named) + 2;
  const size_t end = message.find("--", start);
  std::string b64;
  for (char c : message.substr(start, end - start)) {
    if (!isspace(static_cast<unsigned char>(c))) b64.push_back(c);
  }
  std::string out(b64.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  if (n < 0) return "";
  size_t pad = 0;
  while (pad < b64.size() && b64[b64.size() - 1 - pad] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

class NotificationTest : public testing::EngineFixture {
 protected:
  NotificationTest() : port_(testing::free_port()) {}
  std::string smtp_url() override { return "smtp://127.0.0.1:" + std::to_string(port_); }
  std::vector<domain::EventObserver*> observers() override { return {&outbox_}; }
  void SetUp() override {
    EngineFixture::SetUp();
    smtp_ = std::make_unique<testing::SmtpServer>(store_dir_->sub("maildir"), port_);
  }
  void TearDown() override {
    smtp_.reset();
    EngineFixture::TearDown();
  }
  adapters::DeliveryReport deliver(int64_t at) {
    auto r = adapters::deliver_due(*engine_, outbox_, ctx(at));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r.value() : adapters::DeliveryReport{};
  }
  std::string propose_with_email(std::vector<std::string> partners) {
    domain::ProposeCommand c;
    c.partners = std::move(partners);
    c.roles = {{Role::kLocalSigning, "sign-new"}};
    c.activate_at_ns = now_ + kHour;
    c.password = "pw";
    c.email_partners = true;
    auto p = engine_->propose(c, ctx());
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_TRUE(engine_->confirm(p->proposal_id, ctx()).ok());
    return p->proposal_id;
  }

  int port_;
  projections::NotificationOutbox outbox_;
  std::unique_ptr<testing::SmtpServer> smtp_;
};

TEST_F(NotificationTest, PartnersGetTheirNewCertificatesAsPem) {
  smtp_->start();
  propose_with_email({"acme", "globex"});
  const auto report = deliver(now_);
  EXPECT_EQ(report.delivered, 2);
  const auto messages = smtp_->messages();
  ASSERT_EQ(messages.size(), 2u);
  std::set<std::string> recipients;
  for (const auto& m : messages) {
    recipients.insert(header(m, "To"));
    EXPECT_NE(header(m, "Subject").find("New certificates for our exchanges with"), std::string::npos);
    EXPECT_NE(header(m, "From").find("certsched@example.com"), std::string::npos);
    EXPECT_NE(m.find(fp("sign-new")), std::string::npos) << "fingerprint missing";
    EXPECT_NE(m.find("takes effect " + domain::format_instant(now_ + kHour)), std::string::npos);
    EXPECT_EQ(attachment(m, "sign-new.pem"), read_file((*certs_)["sign-new"].cert_pem));
    EXPECT_EQ(m.find("PRIVATE KEY"), std::string::npos);
    EXPECT_EQ(header(m, "Message-ID").rfind("<partner-mail.P1.", 0), 0u) << header(m, "Message-ID");
  }
  EXPECT_EQ(recipients, (std::set<std::string>{"acme@partners.example", "globex@partners.example"}));
  for (const auto& id : state().schedule_ids()) EXPECT_EQ(state().schedule(id)->state(), ScheduleState::kPending);
  EXPECT_EQ(deliver(now_ + kHour).delivered, 0);  // nothing is sent twice
}

TEST_F(NotificationTest, WithTheServerDownTheScheduleWaitsThenNothingIsLost) {
  propose_with_email({"acme"});
  auto down = deliver(now_);
  EXPECT_EQ(down.failed, 1);
  ASSERT_FALSE(down.errors.empty());
  EXPECT_NE(down.errors[0].find("did not accept"), std::string::npos) << down.errors[0];
  const auto* s = state().schedule("S1");
  EXPECT_EQ(s->state(), ScheduleState::kConfirmed);
  EXPECT_EQ(s->mail_attempts, 1u);
  // Due, but the partner never got the certificate: it must not activate.
  EXPECT_TRUE(engine_->activate_due(ctx(now_ + 2 * kHour))->schedule_ids.empty());
  // Backoff: nothing is retried at once.
  EXPECT_EQ(deliver(now_ + 1).delivered + deliver(now_ + 1).failed, 0);

  smtp_->start();
  auto up = deliver(now_ + 2 * kHour);
  EXPECT_GE(up.delivered, 2);  // the partner mail, and the admin's alert about the failure
  EXPECT_EQ(state().schedule("S1")->state(), ScheduleState::kPending);
  const auto messages = smtp_->messages();
  bool partner = false, alert = false;
  for (const auto& m : messages) {
    partner |= header(m, "To") == "acme@partners.example";
    alert |= header(m, "To") == "pki@example.com" && header(m, "Subject").find("mail to partner acme failed") != std::string::npos;
  }
  EXPECT_TRUE(partner);
  EXPECT_TRUE(alert);
  auto activated = engine_->activate_due(ctx(now_ + 2 * kHour));
  EXPECT_EQ(activated->schedule_ids.size(), 1u);
}

TEST_F(NotificationTest, TheAdminHearsOfEachActivationAndInstall) {
  smtp_->start();
  domain::ProposeCommand c;
  c.partners = {"acme", "globex"};
  c.roles = {{Role::kLocalSigning, "sign-new"}, {Role::kLocalSslServer, "srv-new"}};
  c.password = "pw";
  auto p = engine_->propose(c, ctx());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE(engine_->confirm(p->proposal_id, ctx()).ok());
  ASSERT_TRUE(engine_->activate_due(ctx(now_ + 1)).ok());
  testing::RecordingInstaller installer;
  ASSERT_TRUE(engine_->install_listener(domain::Listener::kHTTP, installer, ctx(now_ + 1)).ok());
  const auto report = deliver(now_ + 2);
  EXPECT_EQ(report.delivered, 5);  // 4 activations and 1 install
  int activations = 0, installs = 0;
  for (const auto& m : smtp_->messages()) {
    EXPECT_EQ(header(m, "To"), "pki@example.com");
    const std::string subject = header(m, "Subject");
    if (subject.find("local-signing sign-new is now current for acme") != std::string::npos) {
      EXPECT_NE(m.find("old:     sign-old"), std::string::npos);
      EXPECT_NE(m.find("its scheduled time came"), std::string::npos);
    }
    activations += subject.find("is now current for") != std::string::npos;
    installs += subject.find("listener HTTP now serves srv-new") != std::string::npos;
  }
  EXPECT_EQ(activations, 4);
  EXPECT_EQ(installs, 1);
  // Delivered notifications are recorded in the log: a restarted outbox owes nothing.
  projections::NotificationOutbox fresh;
  auto reopened = domain::Engine::open(*store_, store_dir_->path(), {&fresh}).value();
  EXPECT_EQ(fresh.waiting(*reopened->state().value()), 0u);
}

TEST_F(NotificationTest, AResentNotificationCarriesTheSameMessageId) {
  smtp_->start();
  projections::Notification n;
  n.id = "activated/S42";
  n.to = {"pki@example.com"};
  n.subject = "hello";
  n.body = "twice";
  auto mailer = adapters::mailer_for(state());
  auto first = mailer.send(n, now_);
  auto second = mailer.send(n, now_);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first.value(), second.value());
  const auto messages = smtp_->messages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(header(messages[0], "Message-ID"), header(messages[1], "Message-ID"));
}

}  // namespace
}  // namespace certsched
