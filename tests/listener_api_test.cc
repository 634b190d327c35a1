// PUT /v1/listeners/{name}, called as serve calls it (route_request), with a peer address
// of our choosing: a reload command, a shell command serve runs, may be set only from
// loopback unless serve allows it; a refused request installs nothing and appends nothing.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "adapters/http/api_routes.h"
#include "adapters/store_session.h"
#include "tests/cert_factory.h"
#include "tests/cli_runner.h"
#include "tests/test_support.h"

namespace certsched {
namespace {

using nlohmann::json;

// Records what it is asked to install; installs nothing.
class RecordingInstaller : public domain::ListenerInstaller {
 public:
  Status install(const domain::ListenerInstall& request) override {
    reload_commands.push_back(request.reload_command);
    return Status::Ok();
  }
  std::vector<std::string> reload_commands;
};

class ListenerApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const testing::StoreCli cli(dir_.sub("store"));
    cli.ok({"init", "--admin-email", "pki@example.com"});
    testing::CertFactory f(dir_.path());
    const auto tls = f.make(testing::CertSpec("tls").extended_usage("serverAuth").password("pw"));
    testing::write_file(dir_.sub("pw.txt"), "pw\n");
    cli.ok({"cert", "import", "--alias", "tls", "--cert", tls.cert_pem, "--key", tls.key_pem, "--password-file",
            dir_.sub("pw.txt")});
    session_ = std::move(adapters::open_store_session(dir_.sub("store"), true, "listener_api_test").value());
  }

  http::ApiReply put(const std::string& peer, const json& body, bool allow_remote = false) {
    http::ApiContext context{dir_.sub("store"), session_->store.get(),
                             [&](const std::function<void(domain::Engine&)>& work) { work(*session_->engine); },
                             &session_->outbox, &installer_, allow_remote};
    return http::route_request({"PUT", "/v1/listeners/HTTP", "", peer, body.dump(), ""}, context);
  }
  int64_t events() { return static_cast<int64_t>(session_->store->head().value().position); }

  testing::TempDir dir_;
  std::unique_ptr<adapters::StoreSession> session_;
  RecordingInstaller installer_;
};

TEST_F(ListenerApiTest, AReloadCommandIsSetFromLoopbackOnlyUnlessServeAllowsIt) {
  const json with_reload = {{"cert", "tls"}, {"dir", dir_.sub("www")}, {"reload_command", "nginx -s reload"}};
  const int64_t before = events();
  const http::ApiReply remote = put("192.0.2.10", with_reload);
  EXPECT_EQ(remote.status, 403u) << remote.body;
  EXPECT_NE(remote.body.find("--allow-remote-reload-command"), std::string::npos) << remote.body;
  EXPECT_TRUE(installer_.reload_commands.empty()) << "a refused request ran the installer";
  EXPECT_EQ(events(), before);

  const http::ApiReply local = put("127.0.0.1", with_reload);
  ASSERT_EQ(local.status, 200u) << local.body;
  EXPECT_EQ(json::parse(local.body)["reload_command"], "nginx -s reload");
  EXPECT_EQ(installer_.reload_commands, std::vector<std::string>{"nginx -s reload"});

  // From afar, without a reload command: allowed, and the listener keeps the one it has.
  const http::ApiReply keep = put("192.0.2.10", {{"cert", "tls"}});
  ASSERT_EQ(keep.status, 200u) << keep.body;
  EXPECT_EQ(json::parse(keep.body)["reload_command"], "nginx -s reload");

  const http::ApiReply allowed = put("192.0.2.10", {{"cert", "tls"}, {"reload_command", "systemctl reload nginx"}}, true);
  ASSERT_EQ(allowed.status, 200u) << allowed.body;
  EXPECT_EQ(json::parse(allowed.body)["reload_command"], "systemctl reload nginx");
}

TEST_F(ListenerApiTest, BadRequestsAreRefusedAndAppendNothing) {
  const int64_t before = events();
  EXPECT_EQ(put("127.0.0.1", {{"cert", "tls"}}).status, 400u);  // no directory the first time
  EXPECT_EQ(put("127.0.0.1", {{"cert", "nope"}, {"dir", dir_.sub("www")}}).status, 400u);
  EXPECT_EQ(put("127.0.0.1", {{"cert", "tls"}, {"dir", "relative/www"}}).status, 400u);
  EXPECT_EQ(put("127.0.0.1", {{"cert", "tls"}, {"dir", dir_.sub("www")}, {"colour", "red"}}).status, 400u);
  EXPECT_TRUE(installer_.reload_commands.empty());
  EXPECT_EQ(events(), before);
}

}  // namespace
}  // namespace certsched
