// Operators never stop `serve` to onboard: with serve holding the store (and a real SMTP
// server configured), certificate imports (PEM with an encrypted key, DER, PKCS#12),
// partner additions, updates and removals, certificate removals and listener configuration
// work, sent to serve automatically by the CLI or with --server. The
// store they leave equals the store the same commands leave when run directly (its
// certificates, partners and audit trail, times and actors aside), refusals included.
#include <gtest/gtest.h>

#include "tests/cert_factory.h"
#include "tests/cli_runner.h"
#include "tests/http_client.h"
#include "tests/servers.h"
#include "tests/test_support.h"

namespace certsched {
namespace {

using nlohmann::json;

// Who and when differ between runs; what was done must not.
json without_times_and_actors(json j) {
  if (j.is_array()) {
    for (auto& e : j) e = without_times_and_actors(e);
  } else if (j.is_object()) {
    for (const char* key : {"actor", "command_id", "interface", "time", "imported_at", "imported_by", "removed_at",
                            "removed_by"}) {
      j.erase(key);
    }
    for (auto& [k, v] : j.items()) v = without_times_and_actors(v);
  }
  return j;
}

// Each store has its own listener directory, STORE-www: named WWW in every store's view.
json with_listener_dir_named(const json& j, const std::string& store) {
  std::string text = j.dump();
  const std::string www = store + "-www";
  for (size_t at = text.find(www); at != std::string::npos; at = text.find(www)) text.replace(at, www.size(), "WWW");
  return json::parse(text);
}

class LiveOperationsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::CertFactory f(dir_->path());
    sign_ = new testing::CertFiles(f.make(testing::CertSpec("sign-2027").password("Rotate-2027!")));
    partner_ = new testing::CertFiles(f.make(testing::CertSpec("acme-sign")));
    bundle_ = new testing::CertFiles(f.make(testing::CertSpec("enc-2027").password("bundle-pw")));
    spare_ = new testing::CertFiles(f.make(testing::CertSpec("spare-2026").password("Rotate-2027!")));
    tls_ = new testing::CertFiles(f.make(testing::CertSpec("tls-2027").extended_usage("serverAuth").password("Rotate-2027!")));
    testing::write_file(dir_->sub("pw.txt"), "Rotate-2027!\n");
    testing::write_file(dir_->sub("bundle-pw.txt"), "bundle-pw\n");
  }
  static void TearDownTestSuite() {
    delete sign_;
    delete partner_;
    delete bundle_;
    delete tls_;
    delete spare_;
    delete dir_;
  }

  // The onboarding an operator does while partners depend on serve; each result as the
  // CLI gives it (exit code, and stdout with --json).
  std::vector<testing::CliResult> onboard(const testing::StoreCli& cli, const std::vector<std::string>& server) {
    // The listener's files go beside the store: the same path relative to each store.
    const std::string www = cli.store() + "-www";
    auto run = [&](std::vector<std::string> args) {
      args.insert(args.begin(), server.begin(), server.end());
      return cli.run(args);
    };
    return {
        run({"cert", "import", "--alias", "sign-2027", "--cert", sign_->cert_pem, "--key", sign_->key_pem,
             "--password-file", dir_->sub("pw.txt")}),
        run({"cert", "import", "--alias", "acme-sign", "--cert", partner_->cert_der, "--partner-cert"}),
        run({"cert", "import", "--alias", "enc-2027", "--pkcs12", bundle_->p12, "--password-file",
             dir_->sub("bundle-pw.txt")}),
        run({"partner", "add", "--id", "acme", "--protocol", "AS2", "--email", "edi@acme.example", "--local-signing",
             "sign-2027", "--local-encryption", "enc-2027", "--partner-signing", "acme-sign"}),
        run({"partner", "add", "--id", "globex", "--protocol", "AS2", "--cem", "--email", "b2b@globex.example",
             "--local-signing", "sign-2027"}),
        run({"cert", "import", "--alias", "tls-2027", "--cert", tls_->cert_pem, "--key", tls_->key_pem,
             "--password-file", dir_->sub("pw.txt")}),
        run({"listener", "configure", "HTTP", "--cert", "tls-2027", "--dir", www, "--reload-command",
             "cp " + www + "/cert.pem " + www + "/reloaded.pem"}),
        // The week's corrections: an address, a protocol, a partner gone and its id taken
        // again, a certificate imported by mistake retired with its key.
        run({"partner", "update", "acme", "--email", "b2b@acme.example", "--protocol", "AS4"}),
        run({"partner", "update", "globex", "--no-cem"}),
        run({"partner", "remove", "globex", "--reason", "contract ended"}),
        run({"cert", "import", "--alias", "spare-2026", "--cert", spare_->cert_pem, "--key", spare_->key_pem,
             "--password-file", dir_->sub("pw.txt")}),
        run({"cert", "remove", "spare-2026", "--reason", "imported by mistake"}),
        run({"partner", "add", "--id", "globex", "--protocol", "AS3", "--email", "edi@globex.example", "--reuse-id"}),
        // Refusals: a partner that exists, a wrong key password, a certificate that is not one,
        // a change that changes nothing, a certificate in use, a partner that is not there.
        run({"partner", "add", "--id", "acme", "--protocol", "AS2", "--email", "edi@acme.example"}),
        run({"cert", "import", "--alias", "sign-2028", "--cert", sign_->cert_pem, "--key", sign_->key_pem,
             "--password-file", dir_->sub("bundle-pw.txt")}),
        run({"cert", "import", "--alias", "junk", "--cert", dir_->sub("pw.txt"), "--partner-cert"}),
        run({"partner", "update", "acme", "--email", "b2b@acme.example"}),
        run({"cert", "remove", "sign-2027", "--reason", "old"}),
        run({"partner", "remove", "initech", "--reason", "never was"}),
        run({"partner", "remove", "acme", "--reason", "  "}),  // the CLI's remedy, even through serve
    };
  }

  // A new store in WORK/store, held by a serve (its log WORK/serve.log).
  static testing::ServeProcess serve_new_store(const testing::TempDir& work) {
    testing::StoreCli(work.sub("store")).ok({"init", "--admin-email", "pki@example.com"});
    return testing::start_serve(work.sub("store"), work.sub("serve.log"));
  }

  // What the store holds afterwards, times and actors aside.
  json store_view(const testing::StoreCli& cli) {
    return with_listener_dir_named(store_documents(cli), cli.store());
  }
  json store_documents(const testing::StoreCli& cli) {
    return {{"certificates", without_times_and_actors(cli.ok({"cert", "list"}))},
            {"partners", without_times_and_actors(cli.ok({"partner", "list"}))},
            {"listeners", without_times_and_actors(cli.ok({"listener", "show"}))},
            {"audit", without_times_and_actors(cli.ok({"audit"}))}};
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline testing::CertFiles* sign_ = nullptr;
  static inline testing::CertFiles* partner_ = nullptr;
  static inline testing::CertFiles* bundle_ = nullptr;
  static inline testing::CertFiles* tls_ = nullptr;
  static inline testing::CertFiles* spare_ = nullptr;
  // onboard()'s commands that succeed; the rest are refused.
  static constexpr size_t kSucceeding = 13;
};

TEST_F(LiveOperationsTest, OnboardingWhileServeRunsEqualsOnboardingAStoppedStore) {
  testing::TempDir work;
  testing::SmtpServer smtp(work.sub("maildir"));
  smtp.start();
  auto fresh_store = [&](const std::string& name) {
    testing::StoreCli cli(work.sub(name));
    cli.ok({"init", "--admin-email", "pki@example.com", "--smtp", smtp.url()});
    return cli;
  };

  const testing::StoreCli stopped = fresh_store("stopped");
  const auto direct = onboard(stopped, {});

  const testing::StoreCli forwarded = fresh_store("forwarded");
  testing::ServeProcess serve = testing::start_serve(forwarded.store(), work.sub("serve-forwarded.log"));
  ASSERT_TRUE(serve.ready) << testing::read_file(work.sub("serve-forwarded.log"));
  const auto automatic = onboard(forwarded, {});

  const testing::StoreCli remote = fresh_store("remote");
  testing::ServeProcess remote_serve = testing::start_serve(remote.store(), work.sub("serve-remote.log"));
  ASSERT_TRUE(remote_serve.ready) << testing::read_file(work.sub("serve-remote.log"));
  const auto with_server = onboard(remote, {"--server", remote_serve.base_url});

  ASSERT_EQ(direct.size(), automatic.size());
  for (size_t i = 0; i < direct.size(); ++i) {
    SCOPED_TRACE("command " + std::to_string(i) + ": " + direct[i].err);
    EXPECT_EQ(direct[i].exit_code, i < kSucceeding ? 0 : 3) << direct[i].err;
    const json expected =
        direct[i].exit_code == 0 ? with_listener_dir_named(json::parse(direct[i].out), stopped.store()) : json();
    for (const auto& [other, store] : {std::pair{&automatic[i], forwarded.store()}, {&with_server[i], remote.store()}}) {
      EXPECT_EQ(other->exit_code, direct[i].exit_code) << other->err;
      EXPECT_EQ(other->err, direct[i].err);
      if (direct[i].exit_code == 0) {
        EXPECT_EQ(without_times_and_actors(with_listener_dir_named(json::parse(other->out), store)),
                  without_times_and_actors(expected));
      }
    }
  }
  // Read while serve still runs: the reads are local, the writes went through serve.
  const json expected = store_view(stopped);
  EXPECT_EQ(store_view(forwarded), expected);
  EXPECT_EQ(store_view(remote), expected);
  // The removed certificate's sealed key is gone from each store.
  const size_t keys = testing::files_in(stopped.store() + "/keys");
  EXPECT_EQ(keys, 3u) << "sign-2027, enc-2027 and tls-2027";
  for (const auto* cli : {&forwarded, &remote}) EXPECT_EQ(testing::files_in(cli->store() + "/keys"), keys);
  // The listener's files were installed and its reload command run, by serve.
  for (const auto* cli : {&forwarded, &remote}) {
    EXPECT_EQ(testing::read_file(cli->store() + "-www/reloaded.pem"), testing::read_file(tls_->cert_pem));
  }
  // The trail names the operator, and that the command went through serve's API.
  for (const auto* cli : {&forwarded, &remote}) {
    for (const auto& e : cli->ok({"audit"})) {
      if (e["event"] == "SystemInitialized") continue;
      EXPECT_EQ(e["interface"], "cli") << e.dump();
      const std::string actor = e["actor"];
      EXPECT_EQ(actor.rfind("cli:", 0), 0u) << actor;
      EXPECT_NE(actor.find(" via api:127.0.0.1"), std::string::npos) << actor;
    }
  }
  EXPECT_EQ(testing::stop_serve(serve), 0);
  EXPECT_EQ(testing::stop_serve(remote_serve), 0);

  // Nothing secret went over into a log.
  for (const char* log : {"serve-forwarded.log", "serve-remote.log"}) {
    const std::string text = testing::read_file(work.sub(log));
    EXPECT_EQ(text.find("Rotate-2027!"), std::string::npos) << log;
    EXPECT_EQ(text.find("PRIVATE KEY"), std::string::npos) << log;
  }
}

TEST_F(LiveOperationsTest, TheApiRefusesBadSetupBodiesAndAppendsNothing) {
  testing::TempDir work;
  testing::ServeProcess serve = serve_new_store(work);
  ASSERT_TRUE(serve.ready);
  auto post = [&](const std::string& path, const json& body) { return testing::serve_call(serve, "POST", path, body); };
  auto position = [&] { return testing::serve_call(serve, "GET", "/v1/health").body["position"].get<int64_t>(); };
  const int64_t before = position();
  const std::string pem = testing::read_file(partner_->cert_pem);
  const std::vector<std::pair<json, std::string>> bad = {
      {{{"alias", "x"}, {"cert_base64", "not base64!"}}, "\"cert_base64\": not base64"},
      {{{"alias", "x"}, {"cert", pem}, {"pkcs12_base64", "AAAA"}}, "give exactly one of"},
      {{{"alias", "x"}}, "give exactly one of"},
      {{{"alias", "x"}, {"cert", pem}, {"partner_cert", true}, {"colour", "red"}}, "colour"},
      {{{"alias", "x"}, {"cert", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, {"partner_cert", true}}, ""},
  };
  for (const auto& [body, message] : bad) {
    const testing::HttpReply r = post("/v1/certificates", body);
    EXPECT_EQ(r.status, 400) << body.dump() << ": " << r.text;
    EXPECT_NE(r.body["error"]["message"].get<std::string>().find(message), std::string::npos) << r.text;
  }
  const testing::HttpReply unknown_protocol =
      post("/v1/partners", {{"id", "acme"}, {"protocol", "X400"}, {"email", "edi@acme.example"}});
  EXPECT_EQ(unknown_protocol.status, 400);
  EXPECT_NE(unknown_protocol.text.find("X400"), std::string::npos) << unknown_protocol.text;
  const testing::HttpReply unknown_role = post(
      "/v1/partners", {{"id", "acme"}, {"protocol", "AS2"}, {"email", "edi@acme.example"}, {"certificates", {{"boss", "x"}}}});
  EXPECT_EQ(unknown_role.status, 400);
  EXPECT_EQ(position(), before) << "a refused body appended something";
  EXPECT_EQ(testing::stop_serve(serve), 0);
}

TEST_F(LiveOperationsTest, TickIsNotNeededWhileServeRunsTheScheduler) {
  testing::TempDir work;
  testing::ServeProcess serve = serve_new_store(work);
  ASSERT_TRUE(serve.ready);
  const testing::CliResult tick = testing::StoreCli(work.sub("store")).refused({"tick"});
  EXPECT_NE(tick.err.find("already runs the scheduler"), std::string::npos) << tick.err;
  EXPECT_EQ(testing::stop_serve(serve), 0);
}

}  // namespace
}  // namespace certsched
