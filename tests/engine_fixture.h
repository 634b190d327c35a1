// A store with certificates and partners, for the engine's rule tests.
//   acme     AS2, not CEM: local-signing sign-old, local-ssl-server srv-old,
//            local-ssl-client client-old, partner-signing psign-old
//   globex   AS2, CEM:     local-signing sign-old, local-ssl-server srv-old
//   initech  FTP:          local-signing sign-old
//   umbrella AS4:          local-signing sign-old (uses the HTTP listener, but not over SSL)
// Listener HTTP serves srv-old. Every local key's password is "pw".
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "domain/engine.h"
#include "tests/cert_factory.h"
#include "tests/test_support.h"

namespace certsched::testing {

class EngineFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;

  domain::CommandContext ctx(int64_t at_ns = 0);
  const domain::DomainState& state();
  eventstore::Head head() { return store_->head().value(); }
  const std::string& fp(const std::string& alias) { return (*certs_)[alias].fingerprint; }
  void import_local(const std::string& alias);
  void import_partner(const std::string& alias);
  // Reopens the engine from the log alone.
  std::unique_ptr<domain::Engine> reopen();
  // Hooks for suites that need a real SMTP server or read models fed by the engine.
  virtual std::string smtp_url() { return "smtp://127.0.0.1:2525"; }
  virtual std::vector<domain::EventObserver*> observers() { return {}; }

  static inline TempDir* cert_dir_ = nullptr;
  static inline std::map<std::string, CertFiles>* certs_ = nullptr;
  static inline int64_t now_ = 0;
  static constexpr int64_t kHour = 3600LL * 1'000'000'000;

  std::unique_ptr<TempDir> store_dir_;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<domain::Engine> engine_;
  int next_command_ = 0;
};

// A deterministic text picture of the whole state, to compare live and rebuilt states.
std::string describe(const domain::DomainState& s);

// Records installs instead of writing files; fails on demand.
class RecordingInstaller : public domain::ListenerInstaller {
 public:
  Status install(const domain::ListenerInstall& request) override {
    ++calls;
    last_cert_pem = request.cert_pem;
    last_key_pem = request.key_pem.reveal();
    last_fingerprint = request.fingerprint;
    return fail_with.empty() ? Status::Ok() : Status::IOError(fail_with);
  }
  int calls = 0;
  std::string last_cert_pem, last_key_pem, last_fingerprint, fail_with;
};

}  // namespace certsched::testing
