// Certificates and keys read with OpenSSL, from material made by the openssl tool.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <openssl/x509v3.h>

#include <ctime>
#include <filesystem>
#include <vector>

#include "domain/certificate.h"
#include "domain/instant.h"
#include "domain/key_vault.h"
#include "tests/cert_factory.h"
#include "tests/test_support.h"

namespace certsched::domain {
namespace {

using testing::CertFiles;
using testing::CertSpec;
using testing::read_file;

const int64_t kNow = [] {
  return static_cast<int64_t>(time(nullptr)) * 1'000'000'000;
}();

class CertificateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::CertFactory f(dir_->path());
    rsa_ = new CertFiles(f.make(CertSpec("rsa").rsa().password("s3cret")));
    ec_ = new CertFiles(f.make(CertSpec("ec").password("ec-pass")));
    plain_ = new CertFiles(f.make(CertSpec("plain")));
    trad_ = new CertFiles(f.make(CertSpec("trad").rsa().password("trad-pass").traditional()));
    expired_ = new CertFiles(f.make(CertSpec("expired").valid_days(30).made_at("2020-01-01 00:00:00")));
    future_ = new CertFiles(f.make(CertSpec("future").valid_days(30).made_at("2099-01-01 00:00:00")));
    client_only_ = new CertFiles(f.make(CertSpec("clientonly").extended_usage("clientAuth")));
    sign_only_ = new CertFiles(f.make(CertSpec("signonly").usage("digitalSignature")));
  }
  static void TearDownTestSuite() {
    for (auto* c : {rsa_, ec_, plain_, trad_, expired_, future_, client_only_, sign_only_}) delete c;
    delete dir_;
  }
  static inline testing::TempDir* dir_;
  static inline CertFiles *rsa_, *ec_, *plain_, *trad_, *expired_, *future_, *client_only_, *sign_only_;
};

TEST_F(CertificateTest, PemCertificateWithEncryptedPkcs8Key) {
  auto m = load_certificate(read_file(rsa_->cert_pem), read_file(rsa_->key_pem), "s3cret");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->info.fingerprint, rsa_->fingerprint);  // same as openssl's own
  EXPECT_EQ(m->info.key_type, "RSA-2048");
  EXPECT_NE(m->info.subject.find("CN=rsa"), std::string::npos);
  EXPECT_FALSE(m->key_pkcs8.empty());
  EXPECT_FALSE(m->key_protected.empty());
  EXPECT_GT(m->info.not_after_ns, kNow);
}

TEST_F(CertificateTest, EcKeyDerCertificateAndDerPkcs8Key) {
  auto m = load_certificate(read_file(ec_->cert_der), read_file(ec_->key_der), "ec-pass");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->info.fingerprint, ec_->fingerprint);
  EXPECT_EQ(m->info.key_type, "EC-prime256v1");
}

TEST_F(CertificateTest, TraditionalEncryptedKey) {
  auto m = load_certificate(read_file(trad_->cert_pem), read_file(trad_->key_pem), "trad-pass");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto wrong = load_certificate(read_file(trad_->cert_pem), read_file(trad_->key_pem), "nope");
  EXPECT_TRUE(wrong.status().IsInvalidArgument());
  EXPECT_NE(wrong.status().message().find("wrong password"), std::string::npos) << wrong.status().message();
}

TEST_F(CertificateTest, Pkcs12Bundle) {
  auto m = load_pkcs12(read_file(rsa_->p12), "s3cret");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->info.fingerprint, rsa_->fingerprint);
  EXPECT_FALSE(m->key_pkcs8.empty());
  auto wrong = load_pkcs12(read_file(rsa_->p12), "wrong");
  EXPECT_TRUE(wrong.status().IsInvalidArgument());
  EXPECT_NE(wrong.status().message().find("wrong password"), std::string::npos);
  EXPECT_TRUE(load_pkcs12("not a bundle", "x").status().IsInvalidArgument());
}

TEST_F(CertificateTest, WrongOrMissingPasswordIsRefused) {
  auto wrong = load_certificate(read_file(rsa_->cert_pem), read_file(rsa_->key_pem), "wrong");
  EXPECT_TRUE(wrong.status().IsInvalidArgument());
  EXPECT_NE(wrong.status().message().find("wrong password"), std::string::npos);
  EXPECT_EQ(wrong.status().message().find("wrong\""), std::string::npos);
  auto missing = load_certificate(read_file(rsa_->cert_pem), read_file(rsa_->key_pem), "");
  EXPECT_TRUE(missing.status().IsInvalidArgument());
  // The domain names what is missing; the CLI adds its option (remedies_test checks that).
  EXPECT_NE(missing.status().message().find("needs its password"), std::string::npos) << missing.status().message();
}

TEST_F(CertificateTest, UnencryptedKeyStillNeedsAPasswordToProtectIt) {
  auto none = load_certificate(read_file(plain_->cert_pem), read_file(plain_->key_pem), "");
  EXPECT_TRUE(none.status().IsInvalidArgument());
  auto ok = load_certificate(read_file(plain_->cert_pem), read_file(plain_->key_pem), "chosen");
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(verify_key_password(ok->key_protected.reveal(), "chosen", ok->info, "plain").ok());
}

TEST_F(CertificateTest, MismatchedKeyIsRefused) {
  auto m = load_certificate(read_file(ec_->cert_pem), read_file(plain_->key_pem), "pw");
  EXPECT_TRUE(m.status().IsInvalidArgument());
  EXPECT_NE(m.status().message().find("does not match"), std::string::npos) << m.status().message();
}

TEST_F(CertificateTest, PasswordIsVerifiedByDecryptingTheProtectedKey) {
  auto m = load_certificate(read_file(rsa_->cert_pem), read_file(rsa_->key_pem), "s3cret");
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(verify_key_password(m->key_protected.reveal(), "s3cret", m->info, "rsa").ok());
  Status wrong = verify_key_password(m->key_protected.reveal(), "S3cret", m->info, "rsa");
  EXPECT_TRUE(wrong.IsInvalidArgument());
  EXPECT_NE(wrong.message().find("rsa"), std::string::npos);
  EXPECT_TRUE(verify_key_password(m->key_protected.reveal(), "", m->info, "rsa").IsInvalidArgument());
}

// What listeners install and partner mails attach: the PEM text the openssl tool writes.
TEST_F(CertificateTest, PemOfTheCertificateIsWhatOpensslWrites) {
  auto m = load_certificate(read_file(rsa_->cert_pem), std::nullopt, "");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(certificate_pem(m->info.der), read_file(rsa_->cert_pem));
  EXPECT_EQ(certificate_pem(read_file(ec_->cert_der)), read_file(ec_->cert_pem));
}

TEST_F(CertificateTest, GarbageAndTruncatedInputAreClearErrors) {
  EXPECT_TRUE(load_certificate("", std::nullopt, "").status().IsInvalidArgument());
  EXPECT_TRUE(load_certificate("garbage bytes \x01\x02", std::nullopt, "").status().IsInvalidArgument());
  const std::string pem = read_file(rsa_->cert_pem);
  auto truncated = load_certificate(pem.substr(0, pem.size() / 2), std::nullopt, "");
  EXPECT_TRUE(truncated.status().IsInvalidArgument());
  EXPECT_NE(truncated.status().message().find("PEM"), std::string::npos);
  const std::string der = read_file(rsa_->cert_der);
  EXPECT_TRUE(load_certificate(der.substr(0, 100), std::nullopt, "").status().IsInvalidArgument());
  auto bad_key = load_certificate(pem, std::string("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "pw");
  EXPECT_TRUE(bad_key.status().IsInvalidArgument());
  EXPECT_TRUE(load_certificate(std::string(2 << 20, 'A'), std::nullopt, "").status().IsInvalidArgument());
}

TEST_F(CertificateTest, ExpiredAndNotYetValid) {
  auto expired = load_certificate(read_file(expired_->cert_pem), std::nullopt, "");
  ASSERT_TRUE(expired.ok());
  auto f = check_validity(expired->info, kNow, false);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_TRUE(f[0].error);
  EXPECT_NE(f[0].message.find("expired at 2020-01-31"), std::string::npos) << f[0].message;

  auto future = load_certificate(read_file(future_->cert_pem), std::nullopt, "");
  ASSERT_TRUE(future.ok());
  auto soft = check_validity(future->info, kNow, false);
  ASSERT_EQ(soft.size(), 1u);
  EXPECT_FALSE(soft[0].error);  // a warning at import: it may be scheduled for later
  EXPECT_TRUE(check_validity(future->info, kNow, true)[0].error);
  EXPECT_TRUE(check_validity(future->info, future->info.not_before_ns + 1, true).empty());
}

TEST_F(CertificateTest, KeyUsageAndExtendedKeyUsageFitTheRole) {
  auto client = load_certificate(read_file(client_only_->cert_pem), std::nullopt, "");
  ASSERT_TRUE(client.ok());
  EXPECT_TRUE(client->info.extended_key_usage & XKU_SSL_CLIENT);
  auto server_fit = check_role_fit(client->info, Role::kLocalSslServer);
  ASSERT_FALSE(server_fit.empty());
  EXPECT_TRUE(server_fit[0].error);
  EXPECT_NE(server_fit[0].message.find("serverAuth"), std::string::npos);
  EXPECT_TRUE(check_role_fit(client->info, Role::kLocalSslClient).empty());

  auto sign = load_certificate(read_file(sign_only_->cert_pem), std::nullopt, "");
  ASSERT_TRUE(sign.ok());
  EXPECT_TRUE(check_role_fit(sign->info, Role::kLocalSigning).empty());
  auto enc = check_role_fit(sign->info, Role::kPartnerEncryption);
  ASSERT_FALSE(enc.empty());
  EXPECT_TRUE(enc[0].error);
  EXPECT_NE(enc[0].message.find("keyEncipherment"), std::string::npos);
}

TEST_F(CertificateTest, KeyVaultSealsKeysUnderTheStoreKey) {
  testing::TempDir store;
  testing::write_file(store.sub("store.key"), std::string(64, 'a') + "\n");
  auto m = load_certificate(read_file(rsa_->cert_pem), read_file(rsa_->key_pem), "s3cret");
  ASSERT_TRUE(m.ok());
  const std::string plain_key = m->key_pkcs8.reveal();
  auto vault = KeyVault::open(store.path());
  ASSERT_TRUE(vault.ok());
  ASSERT_TRUE(vault->put(m->info.fingerprint, SealedKey{std::move(m->key_pkcs8), std::move(m->key_protected)}).ok());

  // The file is private and holds no key bytes in the clear.
  std::string file;
  for (const auto& e : std::filesystem::directory_iterator(store.sub("keys"))) {
    struct stat st {};
    stat(e.path().c_str(), &st);
    EXPECT_EQ(st.st_mode & 0777, 0600);
    file = read_file(e.path());
  }
  EXPECT_EQ(file.find(plain_key.substr(0, 64)), std::string::npos);

  auto back = vault->get(m->info.fingerprint);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->pkcs8.reveal(), plain_key);

  // Another store key cannot open it.
  testing::write_file(store.sub("store.key"), std::string(64, 'b') + "\n");
  auto other = KeyVault::open(store.path());
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->get(m->info.fingerprint).status().IsCorruption());
}

// RFC 5280 lets a certificate say it never expires (notAfter 99991231235959Z), and the
// fuzzer found that such dates overflowed the nanosecond clock. They now saturate at the
// latest instant certsched holds, so the certificate is valid, not expired.
TEST(CertificateTimesTest, AValidityPastTheYear2262SaturatesInsteadOfOverflowing) {
  testing::TempDir dir;
  const CertFiles forever = testing::CertFactory(dir.path()).make(CertSpec("forever").valid_days(2'900'000));
  ASSERT_NE(testing::shell("openssl x509 -noout -enddate -in " + forever.cert_pem).find(" 99"), std::string::npos);
  auto m = load_certificate(read_file(forever.cert_pem), std::nullopt, "");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->info.not_after_ns, domain::kLatestInstantSeconds * 1'000'000'000);
  EXPECT_GT(m->info.not_after_ns, m->info.not_before_ns);
  const int64_t a_day_later = m->info.not_before_ns + int64_t{86400} * 1'000'000'000;
  EXPECT_TRUE(check_validity(m->info, a_day_later, true).empty()) << format_findings(check_validity(m->info, a_day_later, true));

  // Typed instants past that are refused with the reason, not wrapped around.
  auto typed = domain::parse_instant("9999-12-31T23:59:59Z");
  ASSERT_FALSE(typed.ok());
  EXPECT_NE(typed.status().message().find("later than 2262-04-11T23:47:15Z"), std::string::npos) << typed.status().message();
  EXPECT_TRUE(domain::parse_instant("2262-04-11T23:47:15Z").ok());
}

// format_instant writes dates by hand; the C library's gmtime_r and strftime are the
// reference, across leap years, century rules, before the epoch, and from the earliest
// instant an int64 of nanoseconds holds to the latest certsched keeps.
TEST(CertificateTimesTest, InstantsAreWrittenAsTheCLibraryWritesThem) {
  auto reference = [](int64_t secs) {
    const std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf);
  };
  std::vector<int64_t> seconds = {0, -1, 951782400, 951868799, 4107542400, kLatestInstantSeconds};
  for (int64_t s = -9'223'372'036 + 1; s <= kLatestInstantSeconds; s += 7'777'777) seconds.push_back(s);  // 1677 on
  for (int64_t s : seconds) {
    EXPECT_EQ(format_instant(s * 1'000'000'000), reference(s)) << s;
    EXPECT_EQ(format_instant(s * 1'000'000'000 + 999'999'999), reference(s)) << s;
  }
  EXPECT_EQ(format_instant(-1), "1969-12-31T23:59:59Z");
}

}  // namespace
}  // namespace certsched::domain
