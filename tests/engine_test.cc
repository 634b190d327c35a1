// The product rules, command by command, on a real store with openssl-made certificates.
#include <gtest/gtest.h>

#include "domain/event_codec.h"
#include "domain/listener_readiness.h"
#include "tests/engine_test_fixture.h"

namespace certsched::domain {
namespace {

using testing::read_file;


TEST_F(EngineTest, ProposeConfirmThenActivateAtTheScheduledTime) {
  auto p = engine_->propose(proposal({"acme"}, {{Role::kLocalSigning, "sign-new"}}, now_ + kHour), ctx());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->proposal_id, "P1");
  ASSERT_EQ(p->schedule_ids.size(), 1u);
  const std::string s = p->schedule_ids[0];
  EXPECT_EQ(state_of(s), ScheduleState::kProposed);
  EXPECT_EQ(current("acme", Role::kLocalSigning), "sign-old");

  ASSERT_TRUE(engine_->confirm("P1", ctx()).ok());
  EXPECT_EQ(state_of(s), ScheduleState::kPending);  // no email asked: confirmed -> pending

  auto early = engine_->activate_due(ctx(now_ + kHour - 1));
  ASSERT_TRUE(early.ok());
  EXPECT_TRUE(early->schedule_ids.empty());
  EXPECT_EQ(state_of(s), ScheduleState::kPending);

  auto due = engine_->activate_due(ctx(now_ + kHour));
  ASSERT_TRUE(due.ok()) << due.status().ToString();
  EXPECT_EQ(due->schedule_ids, std::vector<std::string>{s});
  EXPECT_EQ(state_of(s), ScheduleState::kActivated);
  EXPECT_EQ(current("acme", Role::kLocalSigning), "sign-new");
  const auto& history = state().partner("acme")->history;
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].cert.alias, "sign-old");
  EXPECT_EQ(history[0].replaced_by_schedule, s);
  // Other partners are untouched.
  EXPECT_EQ(current("globex", Role::kLocalSigning), "sign-old");
}

TEST_F(EngineTest, NowIsDueAtOnceAfterConfirmation) {
  auto p = engine_->propose(proposal({"acme", "initech"}, {{Role::kLocalSigning, "sign-new"}}, std::nullopt), ctx());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE(engine_->confirm(p->proposal_id, ctx()).ok());
  auto due = engine_->activate_due(ctx(now_ + 1));
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(due->schedule_ids.size(), 2u);
  EXPECT_EQ(current("initech", Role::kLocalSigning), "sign-new");
}

TEST_F(EngineTest, AProposalIsRefusedAsAWholeWithEveryReason) {
  auto c = proposal({"acme", "nobody"}, {{Role::kLocalSigning, "sign-new"}, {Role::kPartnerSigning, "no-such-cert"}},
                    now_ - kHour);
  c.password = "wrong";
  const std::string m = refused([&] { return engine_->propose(c, ctx()); });
  EXPECT_NE(m.find("no partner nobody"), std::string::npos) << m;
  EXPECT_NE(m.find("in the past"), std::string::npos) << m;
  EXPECT_NE(m.find("no certificate with alias no-such-cert"), std::string::npos) << m;
  EXPECT_NE(m.find("wrong private key password for certificate sign-new"), std::string::npos) << m;
  EXPECT_EQ(m.find("wrong\""), std::string::npos);
  EXPECT_EQ(state().schedule_ids().size(), 0u);
}

TEST_F(EngineTest, LocalCertificatesNeedTheirKeyPassword) {
  auto c = proposal({"acme"}, {{Role::kLocalSigning, "sign-new"}}, now_ + kHour);
  c.password = "";
  EXPECT_NE(refused([&] { return engine_->propose(c, ctx()); }).find("give its private key password"), std::string::npos);
  c.password = "PW";
  EXPECT_NE(refused([&] { return engine_->propose(c, ctx()); }).find("wrong private key password"), std::string::npos);
  // A partner certificate has no key and needs no password.
  auto partner = proposal({"acme"}, {{Role::kPartnerSigning, "psign-new"}}, now_ + kHour);
  partner.password = "";
  EXPECT_TRUE(engine_->propose(partner, ctx()).ok());
}

TEST_F(EngineTest, ExpiredCertificatesAndPastTimesAreRefused) {
  import_local("future");
  domain::ImportCertificateCommand expired;
  expired.alias = "expired";
  expired.cert_bytes = read_file((*certs_)["expired"].cert_pem);
  expired.key_bytes = read_file((*certs_)["expired"].key_pem);
  expired.password = "pw";
  EXPECT_NE(refused([&] { return engine_->import_certificate(expired, ctx()); }).find("expired"), std::string::npos);

  // Not valid yet at the activation time: refused; valid by then: accepted.
  const std::string early = refused([&] {
    return engine_->propose(proposal({"acme"}, {{Role::kLocalSigning, "future"}}, now_ + kHour), ctx());
  });
  EXPECT_NE(early.find("not valid until 2099"), std::string::npos) << early;
  const auto* future = state().certificate("future");
  auto later = engine_->propose(proposal({"acme"}, {{Role::kLocalSigning, "future"}}, future->cert.not_before_ns + kHour), ctx());
  EXPECT_TRUE(later.ok()) << later.status().ToString();
}

TEST_F(EngineTest, OneOpenSchedulePerPartnerAndRoleNamingTheOpenProposal) {
  ASSERT_TRUE(engine_->propose(proposal({"acme"}, {{Role::kLocalSigning, "sign-new"}}, now_ + kHour), ctx()).ok());
  const std::string m = refused([&] {
    return engine_->propose(proposal({"acme", "globex"}, {{Role::kLocalSigning, "sign-only"}}, now_ + kHour), ctx());
  });
  EXPECT_NE(m.find("acme already has an open local-signing schedule S1 (proposal P1"), std::string::npos) << m;
  EXPECT_NE(m.find("decline or cancel it first"), std::string::npos);

  ASSERT_TRUE(engine_->decline("P1", ctx()).ok());
  EXPECT_EQ(state_of("S1"), ScheduleState::kWithdrawn);
  EXPECT_EQ(current("acme", Role::kLocalSigning), "sign-old");  // declining changes nothing else
  auto again = engine_->propose(proposal({"acme"}, {{Role::kLocalSigning, "sign-new"}}, now_ + kHour), ctx());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_TRUE(engine_->confirm(again->proposal_id, ctx()).ok());
  ASSERT_TRUE(engine_->cancel(again->schedule_ids[0], "wrong certificate", ctx()).ok());
  EXPECT_TRUE(engine_->propose(proposal({"acme"}, {{Role::kLocalSigning, "sign-new"}}, now_ + kHour), ctx()).ok());
}

TEST_F(EngineTest, ACurrentCertificateCannotBeScheduledAgain) {
  const std::string m = refused([&] {
    return engine_->propose(proposal({"acme"}, {{Role::kLocalSigning, "sign-old"}}, now_ + kHour), ctx());
  });
  EXPECT_NE(m.find("sign-old is already current for partner acme as local-signing"), std::string::npos) << m;
}

TEST_F(EngineTest, DecisionsOnlyFromTheRightStates) {
  auto p = engine_->propose(proposal({"acme"}, {{Role::kLocalSigning, "sign-new"}}, now_ + kHour), ctx());
  ASSERT_TRUE(p.ok());
  const std::string s = p->schedule_ids[0];
  EXPECT_NE(refused([&] { return engine_->cancel(s, "oops", ctx()); }).find("decline proposal P1 instead"), std::string::npos);
  EXPECT_TRUE(refused([&] { return engine_->confirm("P9", ctx()); }).find("no proposal P9") != std::string::npos);
  ASSERT_TRUE(engine_->confirm("P1", ctx()).ok());
  EXPECT_NE(refused([&] { return engine_->confirm("P1", ctx()); }).find("only a proposed proposal"), std::string::npos);
  EXPECT_NE(refused([&] { return engine_->decline("P1", ctx()); }).find("cancel a confirmed schedule instead"), std::string::npos);
  EXPECT_NE(refused([&] { return engine_->cancel(s, "   ", ctx()); }).find("needs a reason"), std::string::npos);
  EXPECT_NE(refused([&] { return engine_->skip_email(s, "no", ctx()); }).find("no partner email was asked for"), std::string::npos);
  ASSERT_TRUE(engine_->cancel(s, "partner asked to wait", ctx()).ok());
  EXPECT_EQ(state_of(s), ScheduleState::kCancelled);
  EXPECT_EQ(state().schedule(s)->reason, "partner asked to wait");
  EXPECT_NE(refused([&] { return engine_->cancel(s, "again", ctx()); }).find("is cancelled"), std::string::npos);
  EXPECT_TRUE(engine_->activate_due(ctx(now_ + 2 * kHour))->schedule_ids.empty());
}

TEST_F(EngineTest, EmailedSchedulesWaitForTheMailOrAnExplicitSkip) {
  auto c = proposal({"acme", "globex"}, {{Role::kLocalSigning, "sign-new"}}, now_ + kHour);
  c.email_partners = true;
  auto p = engine_->propose(c, ctx());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE(engine_->confirm(p->proposal_id, ctx()).ok());
  const std::string a = p->schedule_ids[0], g = p->schedule_ids[1];
  EXPECT_EQ(state_of(a), ScheduleState::kConfirmed);

  ASSERT_TRUE(engine_->record_mail_failed(a, "connection refused", ctx()).ok());
  ASSERT_TRUE(engine_->record_mail_failed(a, "connection refused", ctx()).ok());
  EXPECT_EQ(state_of(a), ScheduleState::kConfirmed);
  EXPECT_EQ(state().schedule(a)->mail_attempts, 2u);
  // Past its time, but the partner never got the certificate: it does not activate.
  EXPECT_TRUE(engine_->activate_due(ctx(now_ + 2 * kHour))->schedule_ids.empty());

  ASSERT_TRUE(engine_->record_mail_sent(a, "<m1@certsched>", ctx()).ok());
  EXPECT_EQ(state_of(a), ScheduleState::kPending);
  EXPECT_NE(refused([&] { return engine_->record_mail_sent(a, "<m2@certsched>", ctx()); }).find("not waiting"), std::string::npos);
  EXPECT_NE(refused([&] { return engine_->skip_email(g, "", ctx()); }).find("needs a reason"), std::string::npos);
  ASSERT_TRUE(engine_->skip_email(g, "sent by hand over the partner portal", ctx()).ok());
  EXPECT_EQ(state_of(g), ScheduleState::kPending);

  auto due = engine_->activate_due(ctx(now_ + 2 * kHour));
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(due->schedule_ids.size(), 2u);
}

TEST_F(EngineTest, EmailNeedsAnSmtpServer) {
  testing::TempDir other;
  testing::write_file(other.sub("store.key"), std::string(64, '1'));
  auto store = testing::open_writer(other.path());
  auto engine = Engine::open(*store, other.path()).value();
  ASSERT_TRUE(engine->initialize({"pki@example.com", "", "", {}}, ctx()).ok());
  ProposeCommand c;
  c.partners = {"x"};
  c.email_partners = true;
  auto r = engine->propose(c, ctx());
  EXPECT_NE(r.status().message().find("no SMTP server is configured"), std::string::npos) << r.status().message();
}

TEST_F(EngineTest, SigningCertificateCanServeForEncryptionToo) {
  auto c = proposal({"initech"}, {{Role::kLocalSigning, "sign-new"}}, now_ + kHour);
  c.use_signing_for_encryption = true;
  auto p = engine_->propose(c, ctx());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->schedule_ids.size(), 2u);
  EXPECT_EQ(state().schedule(p->schedule_ids[1])->role(), Role::kLocalEncryption);
  EXPECT_EQ(state().schedule(p->schedule_ids[1])->proposed.alias, "sign-new");

  // A signing-only certificate (no keyEncipherment) cannot be used for encryption.
  auto bad = proposal({"umbrella"}, {{Role::kLocalSigning, "sign-only"}}, now_ + kHour);
  bad.use_signing_for_encryption = true;
  EXPECT_NE(refused([&] { return engine_->propose(bad, ctx()); }).find("keyEncipherment"), std::string::npos);
}

TEST_F(EngineTest, SslClientOnlyWherePartnersHaveOneUnlessForced) {
  auto c = proposal({"acme", "globex"}, {{Role::kLocalSslClient, "client-new"}}, now_ + kHour);
  auto p = engine_->propose(c, ctx());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->schedule_ids.size(), 1u);
  EXPECT_EQ(state().schedule(p->schedule_ids[0])->proposed.partner, "acme");
  ASSERT_EQ(p->notes.size(), 1u);
  EXPECT_NE(p->notes[0].find("globex has no SSL client certificate"), std::string::npos);

  auto only_globex = proposal({"globex"}, {{Role::kLocalSslClient, "client-new"}}, now_ + kHour);
  EXPECT_NE(refused([&] { return engine_->propose(only_globex, ctx()); }).find("nothing to schedule"), std::string::npos);
  only_globex.force_ssl_client = true;
  auto forced = engine_->propose(only_globex, ctx());
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ(state().schedule(forced->schedule_ids[0])->proposed.forced, 1);
}

TEST_F(EngineTest, WrongExtendedKeyUsageForTheRoleIsRefused) {
  const std::string m = refused([&] {
    return engine_->propose(proposal({"acme"}, {{Role::kLocalSslServer, "client-new"}}, now_ + kHour), ctx());
  });
  EXPECT_NE(m.find("serverAuth"), std::string::npos) << m;
}

TEST_F(EngineTest, ListenerInstallsOnlyWhenEveryPartnerIsReadyThenActivatesThemTogether) {
  // umbrella uses the HTTP listener without SSL: it is skipped, and does not block.
  auto p1 = engine_->propose(proposal({"acme", "umbrella"}, {{Role::kLocalSslServer, "srv-new"}}, now_ + kHour), ctx());
  ASSERT_TRUE(p1.ok()) << p1.status().ToString();
  ASSERT_EQ(p1->schedule_ids.size(), 1u);
  EXPECT_NE(p1->notes.at(0).find("umbrella does not use listener HTTP over SSL"), std::string::npos);
  EXPECT_EQ(state().listener(Listener::kHTTP)->pending->alias, "srv-new");

  auto readiness = listener_readiness(state(), Listener::kHTTP, now_ + 2 * kHour);
  EXPECT_FALSE(readiness.ready);
  ASSERT_EQ(readiness.blockers.size(), 2u);
  EXPECT_EQ(readiness.blockers[0].partner, "acme");
  EXPECT_NE(readiness.blockers[0].reason.find("awaits confirmation of proposal P1"), std::string::npos);
  EXPECT_EQ(readiness.blockers[1].partner, "globex");
  EXPECT_NE(readiness.blockers[1].reason.find("has no schedule for srv-new"), std::string::npos);

  // Every later server-certificate proposal for the listener must name srv-new.
  const std::string m = refused([&] {
    return engine_->propose(proposal({"globex"}, {{Role::kLocalSslServer, "srv-other"}}, now_ + kHour), ctx());
  });
  EXPECT_NE(m.find("must name srv-new"), std::string::npos) << m;
  // Nor can the listener's certificate be changed by other means meanwhile.
  EXPECT_NE(refused([&] {
              return engine_->configure_listener({Listener::kHTTP, "srv-other", "/srv/x", ""}, ctx());
            }).find("pending change to srv-new"),
            std::string::npos);

  auto p2 = engine_->propose(proposal({"globex"}, {{Role::kLocalSslServer, "srv-new"}}, now_ + 2 * kHour), ctx());
  ASSERT_TRUE(p2.ok()) << p2.status().ToString();
  ASSERT_TRUE(engine_->confirm(p1->proposal_id, ctx()).ok());
  ASSERT_TRUE(engine_->confirm(p2->proposal_id, ctx()).ok());

  testing::RecordingInstaller installer;
  // acme's time has passed but globex's has not: nothing installed yet. globex's confirmed
  // schedule only waits for its time: it is the reason the install waits, not a blocker.
  auto waiting = listener_readiness(state(), Listener::kHTTP, now_ + kHour);
  EXPECT_FALSE(waiting.ready);
  EXPECT_TRUE(waiting.blockers.empty());
  ASSERT_EQ(waiting.waits.size(), 1u);
  EXPECT_EQ(waiting.waits[0].partner, "globex");
  EXPECT_NE(waiting.waits[0].reason.find("activates at"), std::string::npos);
  EXPECT_NE(refused([&] { return engine_->install_listener(Listener::kHTTP, installer, ctx(now_ + kHour)); })
                .find("partner globex activates at"),
            std::string::npos);
  EXPECT_EQ(installer.calls, 0);
  // Server certificates never activate on their own schedule time.
  EXPECT_TRUE(engine_->activate_due(ctx(now_ + 3 * kHour))->schedule_ids.empty());

  auto installed = engine_->install_listener(Listener::kHTTP, installer, ctx(now_ + 2 * kHour));
  ASSERT_TRUE(installed.ok()) << installed.status().ToString();
  EXPECT_EQ(installer.calls, 1);
  EXPECT_EQ(installer.last_fingerprint, fp("srv-new"));
  EXPECT_EQ(installer.last_cert_pem, read_file((*certs_)["srv-new"].cert_pem));
  EXPECT_NE(installer.last_key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(installed->schedule_ids.size(), 2u);
  EXPECT_EQ(current("acme", Role::kLocalSslServer), "srv-new");
  EXPECT_EQ(current("globex", Role::kLocalSslServer), "srv-new");
  EXPECT_EQ(state().listener(Listener::kHTTP)->current->alias, "srv-new");
  EXPECT_FALSE(state().listener(Listener::kHTTP)->pending.has_value());
  EXPECT_EQ(state().schedule(installed->schedule_ids[0])->activation_cause, ActivationCause::kListenerInstall);
}

TEST_F(EngineTest, DecliningTheOnlyServerCertificateProposalLiftsTheRule) {
  auto p1 = engine_->propose(proposal({"acme"}, {{Role::kLocalSslServer, "srv-new"}}, now_ + kHour), ctx());
  ASSERT_TRUE(p1.ok());
  ASSERT_TRUE(engine_->decline(p1->proposal_id, ctx()).ok());
  EXPECT_FALSE(state().listener(Listener::kHTTP)->pending.has_value());
  auto p2 = engine_->propose(proposal({"acme"}, {{Role::kLocalSslServer, "srv-other"}}, now_ + kHour), ctx());
  ASSERT_TRUE(p2.ok()) << p2.status().ToString();
  ASSERT_TRUE(engine_->confirm(p2->proposal_id, ctx()).ok());
  ASSERT_TRUE(engine_->cancel(p2->schedule_ids[0], "change of plan", ctx()).ok());
  EXPECT_FALSE(state().listener(Listener::kHTTP)->pending.has_value());
}

TEST_F(EngineTest, ServerCertificatesNeedAConfiguredListenerAndForceForNewSslUsers) {
  EXPECT_NE(refused([&] {
              auto c = proposal({"initech"}, {{Role::kLocalSslServer, "srv-new"}}, now_ + kHour);
              c.force_ssl_server = true;
              return engine_->propose(c, ctx());
            }).find("listener FTP, which is not configured"),
            std::string::npos);
  auto c = proposal({"umbrella"}, {{Role::kLocalSslServer, "srv-new"}}, now_ + kHour);
  c.force_ssl_server = true;
  auto forced = engine_->propose(c, ctx());
  ASSERT_TRUE(forced.ok()) << forced.status().ToString();
  // umbrella is now forced onto the listener: it blocks until it is ready too.
  auto r = listener_readiness(state(), Listener::kHTTP, now_ + 2 * kHour);
  bool umbrella_blocks = false;
  for (const auto& b : r.blockers) umbrella_blocks |= b.partner == "umbrella";
  EXPECT_TRUE(umbrella_blocks);
}

TEST_F(EngineTest, AFailedInstallIsRecordedAndChangesNothingElse) {
  auto p = engine_->propose(proposal({"acme", "globex"}, {{Role::kLocalSslServer, "srv-new"}}, now_ + kHour), ctx());
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(engine_->confirm(p->proposal_id, ctx()).ok());
  testing::RecordingInstaller installer;
  installer.fail_with = "reload command exited with status 1";
  auto failed = engine_->install_listener(Listener::kHTTP, installer, ctx(now_ + kHour));
  EXPECT_TRUE(failed.status().IsIOError());
  EXPECT_NE(failed.status().message().find("reload command exited"), std::string::npos);
  const auto* l = state().listener(Listener::kHTTP);
  EXPECT_EQ(l->install_failures, 1u);
  EXPECT_EQ(l->current->alias, "srv-old");
  EXPECT_EQ(state_of(p->schedule_ids[0]), ScheduleState::kPending);
  installer.fail_with.clear();
  ASSERT_TRUE(engine_->install_listener(Listener::kHTTP, installer, ctx(now_ + kHour)).ok());
  EXPECT_EQ(state().listener(Listener::kHTTP)->install_failures, 0u);
}

TEST_F(EngineTest, FirstUsageActivatesEarlyOnlyForNonCemAs2AndAs3) {
  auto c = proposal({"acme", "globex"}, {{Role::kLocalEncryption, "enc-new"}, {Role::kPartnerSigning, "psign-new"}},
                    now_ + 24 * kHour);
  auto p = engine_->propose(c, ctx());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE(engine_->confirm(p->proposal_id, ctx()).ok());
  for (const auto& id : p->schedule_ids) {
    const auto* s = state().schedule(id);
    EXPECT_EQ(s->proposed.first_usage, s->proposed.partner == "acme" ? 1 : 0) << id;
  }
  // acme encrypts for the new local certificate: that schedule activates, a day early.
  auto used = engine_->observe_first_usage("acme", {fp("enc-new"), fp("psign-old")}, ctx(now_ + kHour));
  ASSERT_TRUE(used.ok()) << used.status().ToString();
  ASSERT_EQ(used->schedule_ids.size(), 1u);
  EXPECT_EQ(current("acme", Role::kLocalEncryption), "enc-new");
  EXPECT_EQ(current("acme", Role::kPartnerSigning), "psign-old");
  EXPECT_EQ(state().schedule(used->schedule_ids[0])->activation_cause, ActivationCause::kFirstUsage);

  // globex is CEM-capable: first usage does not apply.
  auto cem = engine_->observe_first_usage("globex", {fp("enc-new")}, ctx(now_ + kHour));
  ASSERT_TRUE(cem.ok());
  EXPECT_TRUE(cem->schedule_ids.empty());
  EXPECT_NE(cem->notes.at(0).find("first usage does not apply"), std::string::npos);

  // A message using nothing the partner has is refused and changes nothing.
  EXPECT_NE(refused([&] { return engine_->observe_first_usage("acme", {fp("srv-other")}, ctx()); })
                .find("uses no certificate"),
            std::string::npos);
}

TEST_F(EngineTest, ARetriedCommandAppliesOnceAndAnswersAsTheFirstTime) {
  auto c = proposal({"acme", "initech"}, {{Role::kLocalSigning, "sign-new"}}, now_ + kHour);
  CommandContext same = ctx();
  auto first = engine_->propose(c, same);
  ASSERT_TRUE(first.ok());
  const auto after_first = head();
  auto retry = engine_->propose(c, same);
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->proposal_id, first->proposal_id);
  EXPECT_EQ(retry->schedule_ids, first->schedule_ids);
  EXPECT_EQ(head().position, after_first.position);
}

TEST_F(EngineTest, ImportAndPartnerRules) {
  ImportCertificateCommand c;
  c.alias = "sign-new";
  c.cert_bytes = read_file((*certs_)["srv-other"].cert_pem);
  c.partner_cert = true;
  EXPECT_NE(refused([&] { return engine_->import_certificate(c, ctx()); }).find("alias sign-new already exists"), std::string::npos);
  c.alias = "dup";
  c.cert_bytes = read_file((*certs_)["sign-new"].cert_pem);
  EXPECT_NE(refused([&] { return engine_->import_certificate(c, ctx()); }).find("already imported as sign-new"), std::string::npos);
  c.alias = "bad alias!";
  EXPECT_NE(refused([&] { return engine_->import_certificate(c, ctx()); }).find("must be 1-64"), std::string::npos);
  c.alias = "lonely";
  c.partner_cert = false;
  c.cert_bytes = read_file((*certs_)["future"].cert_pem);
  EXPECT_NE(refused([&] { return engine_->import_certificate(c, ctx()); }).find("needs its private key"), std::string::npos);
  c.partner_cert = true;
  c.key_bytes = read_file((*certs_)["future"].key_pem);
  c.password = "pw";
  EXPECT_NE(refused([&] { return engine_->import_certificate(c, ctx()); }).find("partner certificate is public"), std::string::npos);
  c.key_bytes.reset();
  auto imported = engine_->import_certificate(c, ctx());
  ASSERT_TRUE(imported.ok());
  ASSERT_FALSE(imported->warnings.empty());
  EXPECT_NE(imported->warnings[0].find("not valid until"), std::string::npos);

  AddPartnerCommand partner{"hooli", Protocol::kAS3, "ops@hooli.example", false, {{Role::kLocalSigning, "psign-new"}}};
  EXPECT_NE(refused([&] { return engine_->add_partner(partner, ctx()); }).find("partner certificate and cannot serve as local-signing"),
            std::string::npos);
  partner.certificates = {{Role::kLocalSslServer, "client-new"}};
  EXPECT_NE(refused([&] { return engine_->add_partner(partner, ctx()); }).find("serverAuth"), std::string::npos);
  partner.certificates = {};
  partner.email = "not-an-email";
  EXPECT_NE(refused([&] { return engine_->add_partner(partner, ctx()); }).find("not an email address"), std::string::npos);
  partner.id = "acme";
  partner.email = "x@y.example";
  EXPECT_NE(refused([&] { return engine_->add_partner(partner, ctx()); }).find("partner acme already exists"), std::string::npos);
}

TEST_F(EngineTest, TheLogHoldsNoPasswordOrPrivateKey) {
  auto p = engine_->propose(proposal({"acme"}, {{Role::kLocalSigning, "sign-new"}}, now_ + kHour), ctx());
  ASSERT_TRUE(p.ok());
  const std::string key = read_file((*certs_)["sign-new"].key_pem);
  auto events = store_->read_all(1, 100000).value();
  std::string everything;
  for (const auto& e : events) everything += e.payload + e.actor + e.stream + e.type;
  EXPECT_EQ(everything.find("\"pw\""), std::string::npos);
  EXPECT_EQ(everything.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(everything.find(key.substr(40, 40)), std::string::npos);
}

TEST_F(EngineTest, RebuildingFromTheLogEqualsTheLiveState) {
  auto p = engine_->propose(proposal({"acme", "globex"}, {{Role::kLocalSigning, "sign-new"}, {Role::kLocalSslServer, "srv-new"}},
                                     now_ + kHour), ctx());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE(engine_->confirm(p->proposal_id, ctx()).ok());
  ASSERT_TRUE(engine_->activate_due(ctx(now_ + kHour)).ok());
  testing::RecordingInstaller installer;
  ASSERT_TRUE(engine_->install_listener(Listener::kHTTP, installer, ctx(now_ + kHour)).ok());
  EXPECT_EQ(testing::describe(*reopen()->state().value()), testing::describe(state()));
}

}  // namespace
}  // namespace certsched::domain
