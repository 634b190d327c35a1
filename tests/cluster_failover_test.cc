// The database's own high availability, in the one topology docs/clustered-stores.md
// describes: a primary with a synchronous streaming standby, nodes connected with a
// multi-host URI (target_session_attrs=read-write). The primary is killed with kill -9 and
// the standby promoted while a client writes through serve: the node reconnects by itself,
// every acknowledged command is in the log, the chain verifies, and scheduling resumes.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "base/clock.h"
#include "domain/instant.h"
#include "tests/cert_factory.h"
#include "tests/cli_runner.h"
#include "tests/http_client.h"
#include "tests/servers.h"
#include "tests/test_support.h"

namespace certsched {
namespace {

using nlohmann::json;
using testing::PostgresServer;
using testing::StoreCli;

TEST(DatabaseFailoverTest, ANodeFollowsAPromotedStandbyAndLosesNoAcknowledgedCommand) {
  PostgresServer primary;
  primary.start();
  primary.create_database("certsched");
  PostgresServer standby(PostgresServer::StandbyOf{primary});
  standby.start();
  primary.require_synchronous_standby();
  const std::string uri = "postgresql://postgres@127.0.0.1:" + std::to_string(primary.port()) + ",127.0.0.1:" +
                          std::to_string(standby.port()) + "/certsched?target_session_attrs=read-write&connect_timeout=2";

  testing::TempDir dir;
  testing::CertFactory f(dir.path());
  std::map<std::string, testing::CertFiles> certs;
  for (const char* n : {"sign-old", "sign-new"}) certs[n] = f.make(testing::CertSpec(n).password("pw"));
  testing::write_file(dir.sub("pw.txt"), "pw\n");
  StoreCli node(dir.sub("node"));
  node.ok({"init", "--admin-email", "pki@example.com", "--backend", uri});
  for (const char* n : {"sign-old", "sign-new"}) {
    node.ok({"cert", "import", "--alias", n, "--cert", certs[n].cert_pem, "--key", certs[n].key_pem, "--password-file",
             dir.sub("pw.txt")});
  }
  node.ok({"partner", "add", "--id", "acme", "--protocol", "AS2", "--email", "edi@acme.example", "--local-signing",
           "sign-old"});
  // Due well after the failover: the promoted database must carry the scheduling on.
  const int64_t at = (base::now_ns() / 1'000'000'000 + 20) * 1'000'000'000;
  json proposed = node.ok({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at",
                           domain::format_instant(at), "--password-file", dir.sub("pw.txt")});
  node.ok({"schedule", "confirm", proposed["proposal"]});

  auto serve = testing::start_serve(node.store(), dir.sub("serve.log"));
  ASSERT_TRUE(serve.ready) << testing::read_file(dir.sub("serve.log"));
  std::atomic<bool> stop{false};
  std::atomic<bool> failed_over{false};
  std::mutex mu;
  std::set<std::string> acknowledged;
  int before = 0, after = 0;
  std::thread client([&] {
    for (int n = 0; !stop; ++n) {
      const std::string id = "c" + std::to_string(n);
      while (!stop) {  // the same key again until the node answers
        auto r = testing::http_call({"POST", serve.base_url + "/v1/partners",
                                     json{{"id", id}, {"protocol", "SFTP"}, {"email", id + "@example.com"}}.dump(),
                                     serve.token, "add-" + id, "", "", 5});
        if (r.status == 200 || r.status == 201) {
          std::lock_guard<std::mutex> l(mu);
          acknowledged.insert(id);
          ++(failed_over ? after : before);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  });
  std::this_thread::sleep_for(std::chrono::seconds(3));
  primary.kill9();
  // No database takes writes until the promotion: health says the node cannot serve.
  const testing::HttpReply during = testing::serve_call(serve, "GET", "/v1/health", nullptr, 10);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  standby.promote();
  failed_over = true;
  std::this_thread::sleep_for(std::chrono::seconds(5));
  stop = true;
  client.join();

  json activated;
  for (int i = 0; i < 400; ++i) {
    auto r = testing::serve_call(serve, "GET", "/v1/schedules?state=activated");
    if (r.status == 200 && r.body.size() == 1) {
      activated = r.body;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(testing::stop_serve(serve), 0);
  EXPECT_EQ(activated.size(), 1u) << testing::read_file(dir.sub("serve.log"));
  EXPECT_EQ(during.status, 503) << during.text;
  EXPECT_EQ(during.body["error"]["code"], "io_error") << during.text;
  // Its log says when it lost the database, and that it scheduled again after.
  const std::string log = testing::read_file(dir.sub("serve.log"));
  const size_t lost = log.find("cannot reach the database");
  ASSERT_NE(lost, std::string::npos) << log;
  EXPECT_NE(log.find("this node schedules now", lost), std::string::npos) << log;
  EXPECT_GT(before, 0);
  EXPECT_GT(after, 0) << "the node never wrote to the promoted standby";

  EXPECT_EQ(node.ok({"replay", "--verify"})["verified"], true);
  std::map<std::string, int> added;
  int activations = 0;
  for (const json& e : node.ok({"replay", "--events"})) {
    if (e["type"] == "PartnerAdded") ++added[e["stream"]];
    if (e["type"] == "ScheduleActivated") ++activations;
  }
  for (const std::string& id : acknowledged) EXPECT_EQ(added["partner-" + id], 1) << id;
  EXPECT_EQ(activations, 1);
  std::cout << "[ failover ] " << before << " commands acknowledged before the primary died, " << after
            << " after the standby's promotion; none lost\n";
}

}  // namespace
}  // namespace certsched
