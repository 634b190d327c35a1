// First usage from real S/MIME messages made by `openssl cms`: encrypted, signed (detached
// and opaque), signed then encrypted, in S/MIME text and DER; and the messages that must
// change nothing.
#include <gtest/gtest.h>

#include "adapters/first_usage.h"
#include "tests/engine_fixture.h"

namespace certsched {
namespace {

using domain::Role;
using statemachines::ScheduleState;
using testing::read_file;
using testing::shell;

class FirstUsageTest : public testing::EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    domain::ProposeCommand c;
    c.partners = {"acme"};
    c.roles = {{Role::kLocalEncryption, "enc-new"}, {Role::kPartnerSigning, "psign-new"}};
    c.activate_at_ns = now_ + 24 * kHour;  // a day away: only first usage can activate today
    c.password = "pw";
    auto p = engine_->propose(c, ctx());
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    ASSERT_TRUE(engine_->confirm(p->proposal_id, ctx()).ok());
    enc_schedule_ = p->schedule_ids[0];
    sign_schedule_ = p->schedule_ids[1];
    write_file(msg_dir() + "/payload.edi", "UNA:+.? 'UNB+UNOC:3+ACME+US+261129:1000+1'\n");
  }
  std::string msg_dir() { return store_dir_->path(); }
  std::string cert(const std::string& alias) { return (*certs_)[alias].cert_pem; }
  std::string key(const std::string& alias) { return (*certs_)[alias].key_pem; }
  void write_file(const std::string& path, const std::string& bytes) { testing::write_file(path, bytes); }

  // As the partner: sign with its key, encrypt for our certificate, or both.
  std::string signed_by(const std::string& alias, const std::string& extra = "") {
    const std::string out = msg_dir() + "/signed-" + alias + "-" + std::to_string(++files_) + ".msg";
    shell("openssl cms -sign -in " + msg_dir() + "/payload.edi -signer " + cert(alias) + " -inkey " + key(alias) +
          " -passin pass:pw " + extra + " -out " + out);
    return out;
  }
  std::string encrypted_for(const std::string& recipient_pem, const std::string& in, const std::string& extra = "") {
    const std::string out = in + ".enc" + (extra.empty() ? "" : ".der");
    shell("openssl cms -encrypt -aes256 -in " + in + " -recip " + recipient_pem + " " + extra + " -out " + out);
    return out;
  }
  Result<domain::CommandResult> observe(const std::string& file, int64_t at) {
    return adapters::observe_message(*engine_, "acme", read_file(file), ctx(at));
  }
  ScheduleState state_of(const std::string& id) { return state().schedule(id)->state(); }

  std::string enc_schedule_, sign_schedule_;
  int files_ = 0;
};

TEST_F(FirstUsageTest, EncryptedForTheNewLocalCertificateActivatesItEarly) {
  auto r = observe(encrypted_for(cert("enc-new"), msg_dir() + "/payload.edi"), now_ + kHour);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->schedule_ids, std::vector<std::string>{enc_schedule_});
  EXPECT_EQ(state_of(enc_schedule_), ScheduleState::kActivated);
  EXPECT_EQ(state_of(sign_schedule_), ScheduleState::kPending);
}

TEST_F(FirstUsageTest, SignedWithTheNewPartnerCertificateDetachedOrOpaque) {
  auto detached = observe(signed_by("psign-new"), now_ + kHour);
  ASSERT_TRUE(detached.ok()) << detached.status().ToString();
  EXPECT_EQ(detached->schedule_ids, std::vector<std::string>{sign_schedule_});
  EXPECT_EQ(state().partner("acme")->current[static_cast<size_t>(Role::kPartnerSigning)]->alias, "psign-new");
}

TEST_F(FirstUsageTest, OpaqueDerSignatureIsReadToo) {
  auto r = observe(signed_by("psign-new", "-nodetach -outform DER"), now_ + kHour);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(state_of(sign_schedule_), ScheduleState::kActivated);
}

TEST_F(FirstUsageTest, SignedThenEncryptedActivatesBoth) {
  const std::string msg = encrypted_for(cert("enc-new"), signed_by("psign-new"));
  auto r = observe(msg, now_ + kHour);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->schedule_ids.size(), 2u);
  EXPECT_EQ(state_of(enc_schedule_), ScheduleState::kActivated);
  EXPECT_EQ(state_of(sign_schedule_), ScheduleState::kActivated);
}

TEST_F(FirstUsageTest, DerEnvelopedMessage) {
  auto r = observe(encrypted_for(cert("enc-new"), msg_dir() + "/payload.edi", "-outform DER"), now_ + kHour);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(state_of(enc_schedule_), ScheduleState::kActivated);
}

TEST_F(FirstUsageTest, MessagesThatProveNothingChangeNothing) {
  const auto before = head();
  // Signed by a certificate acme has neither current nor scheduled (one embedded in the
  // message does not count).
  auto stranger = observe(signed_by("sign-only"), now_ + kHour);
  EXPECT_TRUE(stranger.status().IsInvalidArgument());
  EXPECT_NE(stranger.status().message().find("neither current nor scheduled"), std::string::npos);

  // Encrypted for a certificate we do not hold.
  testing::CertFactory f(msg_dir());
  auto foreign = f.make(testing::CertSpec("foreign"));
  auto unknown = observe(encrypted_for(foreign.cert_pem, msg_dir() + "/payload.edi"), now_ + kHour);
  EXPECT_NE(unknown.status().message().find("encrypted for a certificate we do not hold"), std::string::npos)
      << unknown.status().message();

  // A signed message altered in transit.
  std::string tampered = read_file(signed_by("psign-new"));
  tampered.replace(tampered.find("UNOC"), 4, "UNOX");
  write_file(msg_dir() + "/tampered.msg", tampered);
  auto altered = observe(msg_dir() + "/tampered.msg", now_ + kHour);
  EXPECT_NE(altered.status().message().find("does not verify"), std::string::npos) << altered.status().message();

  // Garbage, and a truncated message.
  write_file(msg_dir() + "/garbage.msg", "Content-Type: text/plain\n\nhello");
  EXPECT_TRUE(observe(msg_dir() + "/garbage.msg", now_).status().IsInvalidArgument());
  const std::string whole = read_file(encrypted_for(cert("enc-new"), msg_dir() + "/payload.edi", "-outform DER"));
  write_file(msg_dir() + "/truncated.msg", whole.substr(0, whole.size() / 2));
  EXPECT_TRUE(observe(msg_dir() + "/truncated.msg", now_).status().IsInvalidArgument());

  EXPECT_EQ(head().position, before.position);
  EXPECT_EQ(state_of(enc_schedule_), ScheduleState::kPending);
  EXPECT_EQ(state_of(sign_schedule_), ScheduleState::kPending);
}

TEST_F(FirstUsageTest, TheCurrentCertificatesAreFineAndActivateNothing) {
  auto r = observe(signed_by("psign-old"), now_ + kHour);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->schedule_ids.empty());
  EXPECT_EQ(state_of(sign_schedule_), ScheduleState::kPending);
}

}  // namespace
}  // namespace certsched
