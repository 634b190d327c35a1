// The scheduler's run: installs when every partner is ready, retries a failed install with
// backoff, alerts the admin (through a real SMTP server) about blocked listeners and
// overdue schedules, and knows when it next has work.
#include <gtest/gtest.h>

#include "adapters/scheduler.h"
#include "domain/expiry_alerts.h"
#include "tests/engine_fixture.h"
#include "tests/servers.h"

namespace certsched {
namespace {

using domain::Role;
using statemachines::ScheduleState;

class SchedulerTest : public testing::EngineFixture {
 protected:
  SchedulerTest() : port_(testing::free_port()) {}
  std::string smtp_url() override { return "smtp://127.0.0.1:" + std::to_string(port_); }
  std::vector<domain::EventObserver*> observers() override { return {&outbox_}; }
  void SetUp() override {
    EngineFixture::SetUp();
    smtp_ = std::make_unique<testing::SmtpServer>(store_dir_->sub("maildir"), port_);
    scheduler_ = std::make_unique<adapters::Scheduler>(*engine_, outbox_, installer_);
  }
  void TearDown() override {
    scheduler_.reset();
    smtp_.reset();
    EngineFixture::TearDown();
  }
  adapters::TickReport run(int64_t at) {
    auto r = scheduler_->run_once(ctx(at));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r.value() : adapters::TickReport{};
  }
  std::string propose(std::vector<std::string> partners, Role role, const std::string& alias, int64_t at, bool email = false) {
    domain::ProposeCommand c;
    c.partners = std::move(partners);
    c.roles = {{role, alias}};
    c.activate_at_ns = at;
    c.password = "pw";
    c.email_partners = email;
    auto p = engine_->propose(c, ctx());
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_TRUE(engine_->confirm(p->proposal_id, ctx()).ok());
    return p->schedule_ids.at(0);
  }
  std::string mail_with_subject(const std::string& needle) {
    for (const auto& m : smtp_->messages()) {
      if (m.find(needle) != std::string::npos) return m;
    }
    return "";
  }

  int port_;
  projections::NotificationOutbox outbox_;
  testing::RecordingInstaller installer_;
  std::unique_ptr<testing::SmtpServer> smtp_;
  std::unique_ptr<adapters::Scheduler> scheduler_;
};

TEST_F(SchedulerTest, ABlockedListenerAlertsTheAdminOnceNamingTheBlockers) {
  smtp_->start();
  propose({"acme"}, Role::kLocalSslServer, "srv-new", now_ + kHour);
  EXPECT_TRUE(run(now_ + 1).alerts.empty());  // not due yet: nothing to say
  auto r = run(now_ + 2 * kHour);
  EXPECT_TRUE(r.installed.empty());
  EXPECT_EQ(installer_.calls, 0);
  ASSERT_EQ(r.alerts, std::vector<std::string>{"blocked/HTTP/srv-new"});
  const std::string mail = mail_with_subject("listener HTTP cannot install srv-new yet");
  ASSERT_FALSE(mail.empty());
  EXPECT_NE(mail.find("globex: has no schedule for srv-new"), std::string::npos) << mail;
  EXPECT_EQ(run(now_ + 3 * kHour).mail.delivered, 0);  // said once
}

TEST_F(SchedulerTest, InstallsWhenReadyAndRetriesAFailureWithBackoff) {
  propose({"acme", "globex"}, Role::kLocalSslServer, "srv-new", now_ + kHour);
  installer_.fail_with = "nginx: [emerg] no such file";
  auto failed = run(now_ + kHour);
  ASSERT_EQ(failed.install_errors.size(), 1u);
  EXPECT_EQ(installer_.calls, 1);
  EXPECT_TRUE(run(now_ + kHour + 1'000'000'000).install_errors.empty());  // backing off
  EXPECT_EQ(installer_.calls, 1);
  const int64_t retry_at = scheduler_->next_due_ns(now_ + kHour).value();
  EXPECT_EQ(retry_at, now_ + kHour + projections::retry_delay_ns(1));

  installer_.fail_with.clear();
  auto retried = run(retry_at);
  EXPECT_EQ(retried.installed, std::vector<std::string>{"HTTP"});
  EXPECT_EQ(retried.activated.size(), 2u);
  EXPECT_EQ(state().listener(domain::Listener::kHTTP)->current->alias, "srv-new");
}

TEST_F(SchedulerTest, AnOverdueScheduleWaitingForItsMailIsReportedThenActivates) {
  const std::string s = propose({"acme"}, Role::kLocalSigning, "sign-new", now_ + kHour, /*email=*/true);
  auto down = run(now_);  // the SMTP server is down
  EXPECT_EQ(down.mail.failed, 2);  // the partner mail, then the admin's alert that it failed
  EXPECT_TRUE(down.alerts.empty()) << "not due yet";
  auto overdue = run(now_ + 2 * kHour);
  EXPECT_EQ(overdue.alerts, std::vector<std::string>{"overdue/" + s});
  EXPECT_EQ(state().schedule(s)->state(), ScheduleState::kConfirmed);

  smtp_->start();
  // The run that gets the partner mail accepted also activates the schedule.
  auto up = run(now_ + 3 * kHour);
  EXPECT_GE(up.mail.delivered, 3);  // the partner mail, the alerts, the activation notice
  EXPECT_FALSE(mail_with_subject("schedule " + s + " for acme is overdue").empty());
  EXPECT_EQ(up.activated, std::vector<std::string>{s});
  EXPECT_EQ(state().schedule(s)->state(), ScheduleState::kActivated);
}

TEST_F(SchedulerTest, AScheduleDueNowIsMailedAndActivatedInOneRunWithoutAnOverdueAlert) {
  smtp_->start();
  const std::string s = propose({"acme"}, Role::kLocalSigning, "sign-new", now_, /*email=*/true);
  auto r = run(now_);
  EXPECT_TRUE(r.alerts.empty()) << "its partner mail had not been tried: it was not overdue";
  EXPECT_EQ(r.activated, std::vector<std::string>{s});
  EXPECT_EQ(state().schedule(s)->state(), ScheduleState::kActivated);
  EXPECT_TRUE(mail_with_subject("is overdue").empty());
}

TEST_F(SchedulerTest, KnowsWhenItNextHasWork) {
  smtp_->start();
  // Beyond the schedules: the first expiry threshold of a certificate in use (the test
  // certificates are valid a year, the first threshold is 30 days).
  const int64_t first_alert = domain::next_expiry_alert_ns(state(), now_);
  ASSERT_GT(first_alert, now_ + 300 * 24 * kHour);
  EXPECT_EQ(scheduler_->next_due_ns(now_).value(), first_alert);
  propose({"acme"}, Role::kLocalSigning, "sign-new", now_ + 2 * kHour);
  propose({"initech"}, Role::kLocalSigning, "sign-new", now_ + kHour);
  EXPECT_EQ(scheduler_->next_due_ns(now_).value(), now_ + kHour);
  run(now_ + kHour);
  EXPECT_EQ(scheduler_->next_due_ns(now_ + kHour).value(), now_ + 2 * kHour);
  run(now_ + 2 * kHour);
  EXPECT_GT(scheduler_->next_due_ns(now_ + 2 * kHour).value(), now_ + 300 * 24 * kHour) << "only expiry thresholds are left";

  // A mail the server refused is retried after its backoff: that is work too.
  smtp_->stop();
  propose({"globex"}, Role::kLocalSigning, "sign-new", now_ + 3 * kHour);
  run(now_ + 3 * kHour);  // activates; the admin mail fails
  EXPECT_EQ(scheduler_->next_due_ns(now_ + 3 * kHour).value(), now_ + 3 * kHour + projections::retry_delay_ns(1));
}

}  // namespace
}  // namespace certsched
