// Secrets never leave where they belong: the key password and the private key bytes appear
// nowhere in the store directory (log, projections, key vault), the serve log or any
// command's output; key files and the store key are 0600; and a sealed key is useless
// without the store key.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/cert_factory.h"
#include "tests/cli_runner.h"
#include "tests/http_client.h"
#include "tests/servers.h"
#include "tests/test_support.h"


namespace certsched {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;
const std::string kPassword = "Vault-Pass-7f3a9c!";

std::string hex(const std::string& bytes) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) out += {d[c >> 4], d[c & 15]};
  return out;
}

class SecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::CertFactory f(dir_.path());
    for (const char* n : {"sign-old", "sign-new"}) certs_[n] = f.make(testing::CertSpec(n).password(kPassword));
    testing::write_file(dir_.sub("pw.txt"), kPassword + "\n");
    store_ = dir_.sub("store");
    // The secrets to look for: the password, the unencrypted PKCS#8 key, its PEM body, and
    // the raw 32-byte EC private scalar (bytes 36-67 of a P-256 PKCS#8 key), also in hex.
    for (const char* n : {"sign-old", "sign-new"}) {
      const std::string der_file = dir_.sub(std::string(n) + ".plain.der");
      testing::shell("openssl pkey -in " + certs_[n].key_pem + " -passin file:" + dir_.sub("pw.txt") + " -outform DER -out " +
                     der_file);
      const std::string der = testing::read_file(der_file);
      fs::remove(der_file);
      ASSERT_GT(der.size(), 68u);
      const std::string scalar = der.substr(36, 32);
      std::string pem = testing::shell("openssl pkey -in " + certs_[n].key_pem + " -passin file:" + dir_.sub("pw.txt"));
      const std::string pem_line = pem.substr(pem.find('\n') + 1, 64);  // a line of the base64 body
      secrets_.push_back({std::string(n) + " PKCS#8 DER", der});
      secrets_.push_back({std::string(n) + " private scalar", scalar});
      secrets_.push_back({std::string(n) + " private scalar (hex)", hex(scalar)});
      secrets_.push_back({std::string(n) + " unencrypted PEM", pem_line});
    }
    secrets_.push_back({"the key password", kPassword});
  }
  std::string cli(std::vector<std::string> args, int expected = 0) {
    auto r = testing::StoreCli(store_).run(args, /*json=*/false);
    EXPECT_EQ(r.exit_code, expected) << args[0] << ": " << r.err;
    outputs_ += r.out + r.err;
    return r.out + r.err;
  }
  void expect_no_secret_in(const std::string& where, const std::string& bytes) {
    for (const auto& [what, secret] : secrets_) {
      EXPECT_EQ(bytes.find(secret), std::string::npos) << what << " found in " << where;
    }
  }

  testing::TempDir dir_;
  std::map<std::string, testing::CertFiles> certs_;
  // A store with sign-old and sign-new imported with their keys, and partner acme.
  void add_partner_with_two_keys() {
    cli({"init", "--admin-email", "pki@example.com"});
    for (const char* n : {"sign-old", "sign-new"}) {
      cli({"cert", "import", "--alias", n, "--cert", certs_[n].cert_pem, "--key", certs_[n].key_pem, "--password-file",
           dir_.sub("pw.txt")});
    }
    cli({"partner", "add", "--id", "acme", "--protocol", "AS2", "--email", "edi@acme.example", "--local-signing", "sign-old"});
  }

  std::vector<std::pair<std::string, std::string>> secrets_;
  std::string store_, outputs_;
};

TEST_F(SecretsTest, NeitherPasswordNorKeyBytesAppearInTheStoreLogsOrOutputs) {
  add_partner_with_two_keys();
  cli({"--json", "schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at", "now",
       "--password-file", dir_.sub("pw.txt")});
  cli({"schedule", "confirm", "P1"});
  cli({"--json", "schedule", "propose", "--partners", "acme", "--role", "local-encryption=sign-new", "--at", "now",
       "--password-file", dir_.sub("pw.txt"), "--use-signing-for-encryption"}, 3);  // refused: lists the reasons
  cli({"tick"}, 0);
  for (auto args : std::vector<std::vector<std::string>>{{"partner", "show", "acme"}, {"cert", "list"}, {"schedule", "list"},
                                                         {"audit"}, {"--json", "audit"}, {"replay", "--verify"},
                                                         {"replay", "--events"}, {"report", "inventory"},
                                                         {"--json", "report", "history"}}) {
    cli(args);
  }
  // serve, with its log, through a scheduler run and a proposal over the API.
  const std::string log = dir_.sub("serve.log");
  testing::ServeProcess serve = testing::start_serve(store_, log);
  ASSERT_TRUE(serve.ready) << testing::read_file(log);
  testing::HttpRequest propose;
  propose.method = "POST";
  propose.url = serve.base_url + "/v1/proposals";
  propose.token = serve.token;
  propose.body = std::string(R"({"partners":["acme"],"roles":{"local-encryption":"sign-old"},"at":"now","password":")") +
                 kPassword + "-wrong\"}";
  const testing::HttpReply refused = testing::http_call(propose);
  EXPECT_EQ(refused.status, 400) << refused.text;
  outputs_ += refused.text;
  testing::stop_serve(serve);

  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(store_)) {
    if (!e.is_regular_file()) continue;
    ++files;
    expect_no_secret_in(e.path().string(), testing::read_file(e.path().string()));
  }
  EXPECT_GT(files, 10u);
  expect_no_secret_in("the serve log", testing::read_file(log));
  expect_no_secret_in("the command outputs", outputs_);
  EXPECT_NE(outputs_.find("wrong private key password"), std::string::npos) << "the wrong password was not noticed";
}

TEST_F(SecretsTest, KeyFilesAreOwnerOnlyAndUselessWithoutTheStoreKey) {
  add_partner_with_two_keys();
  auto mode = [](const std::string& p) {
    struct stat st {};
    EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 0777;
  };
  EXPECT_EQ(mode(store_ + "/store.key"), 0600u);
  EXPECT_EQ(mode(store_ + "/api-token"), 0600u);
  size_t keys = 0;
  for (const auto& e : fs::directory_iterator(store_ + "/keys")) {
    ++keys;
    EXPECT_EQ(mode(e.path().string()), 0600u) << e.path();
    const std::string sealed = testing::read_file(e.path().string());
    expect_no_secret_in(e.path().string(), sealed);
    EXPECT_EQ(sealed.find("PRIVATE KEY"), std::string::npos) << "a PEM key is readable in " << e.path();
  }
  EXPECT_EQ(keys, 2u);

  // Without the store key, the sealed keys cannot be opened: a proposal needing one is
  // refused, and nothing is appended.
  fs::rename(store_ + "/store.key", dir_.sub("store.key.away"));
  const std::string before = cli({"--json", "replay", "--verify"});
  const std::string refused = cli({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at",
                                   "now", "--password-file", dir_.sub("pw.txt")},
                                  3);
  EXPECT_NE(refused.find("store.key"), std::string::npos) << refused;
  EXPECT_EQ(cli({"--json", "replay", "--verify"}), before);
  // A wrong store key fails authentication rather than yielding a key: the sealed keys do
  // not open with it, an integrity failure of the store (exit 4), not bad input.
  testing::write_file(store_ + "/store.key", std::string(32, 'k'));
  chmod((store_ + "/store.key").c_str(), 0600);
  const std::string forged = cli({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at",
                                  "now", "--password-file", dir_.sub("pw.txt")},
                                 4);
  EXPECT_NE(forged.find("key"), std::string::npos) << forged;
  testing::write_file(store_ + "/store.key", std::string(64, 'a'));  // well-formed, but not this store's
  const std::string other = cli({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at",
                                 "now", "--password-file", dir_.sub("pw.txt")},
                                4);
  EXPECT_NE(other.find("does not open with this store's key"), std::string::npos) << other;
  EXPECT_EQ(cli({"--json", "replay", "--verify"}), before);
}

}  // namespace
}  // namespace certsched
