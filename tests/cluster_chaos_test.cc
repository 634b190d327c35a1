// Three `serve` nodes on one PostgreSQL database while clients write through all three APIs
// and nodes are killed (kill -9, then started again) or paused (SIGSTOP, then SIGCONT) at
// random, 30 times. Afterwards: the chain verifies, every acknowledged command is in the log
// once, every due schedule activated exactly once, and every node's projections equal a
// rebuild from the log.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
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
using testing::StoreCli;

constexpr int kNodes = 3;
constexpr int kCycles = 30;
constexpr int kSchedules = 10;

TEST(ClusterChaosTest, ThreeNodesSurviveKillsAndPausesWithEveryAcknowledgedCommandOnce) {
  testing::TempDir dir;
  const std::string uri = testing::fresh_postgres_database();
  testing::CertFactory f(dir.path());
  std::map<std::string, testing::CertFiles> certs;
  for (const char* n : {"sign-old", "sign-new"}) certs[n] = f.make(testing::CertSpec(n).password("pw"));
  testing::write_file(dir.sub("pw.txt"), "pw\n");
  std::vector<StoreCli> node;
  for (int i = 0; i < kNodes; ++i) node.emplace_back(dir.sub("node" + std::to_string(i)));
  node[0].ok({"init", "--admin-email", "pki@example.com", "--backend", uri});
  for (const char* n : {"sign-old", "sign-new"}) {
    node[0].ok({"cert", "import", "--alias", n, "--cert", certs[n].cert_pem, "--key", certs[n].key_pem,
                "--password-file", dir.sub("pw.txt")});
  }
  // Activations due one every four seconds through the chaos, from 15 s on.
  const int64_t start = base::now_ns();
  std::set<std::string> due;
  for (int i = 0; i < kSchedules; ++i) {
    const std::string p = "p" + std::to_string(i);
    node[0].ok({"partner", "add", "--id", p, "--protocol", "AS2", "--email", p + "@example.com", "--local-signing",
                "sign-old"});
    const int64_t at = (start / 1'000'000'000 + 15 + 4 * i) * 1'000'000'000;
    json proposed = node[0].ok({"schedule", "propose", "--partners", p, "--role", "local-signing=sign-new", "--at",
                                domain::format_instant(at), "--password-file", dir.sub("pw.txt")});
    node[0].ok({"schedule", "confirm", proposed["proposal"]});
    due.insert(proposed["schedules"][0]["id"].get<std::string>());
  }
  for (int i = 1; i < kNodes; ++i) node[i].ok({"join", "--backend", uri, "--store-key", dir.sub("node0/store.key")});

  std::mutex mu;  // guards serves
  std::vector<testing::ServeProcess> serves(kNodes);
  auto start_node = [&](int i) {
    auto s = testing::start_serve(node[i].store(), dir.sub("serve" + std::to_string(i) + ".log"));
    ASSERT_TRUE(s.ready) << testing::read_file(dir.sub("serve" + std::to_string(i) + ".log"));
    std::lock_guard<std::mutex> l(mu);
    serves[i] = s;
  };
  for (int i = 0; i < kNodes; ++i) start_node(i);

  // The client: partners added through the three APIs in turn; a request that gets no answer
  // (its node paused or killed) is sent again to the next node with the same key.
  std::atomic<bool> stop{false};
  std::set<std::string> acknowledged;
  std::vector<std::string> client_errors;
  std::thread client([&] {
    for (int n = 0; !stop; ++n) {
      const std::string id = "c" + std::to_string(n);
      for (int attempt = 0; !stop; ++attempt) {
        testing::ServeProcess s;
        {
          std::lock_guard<std::mutex> l(mu);
          s = serves[(n + attempt) % kNodes];
        }
        auto r = testing::http_call({"POST", s.base_url + "/v1/partners",
                                     json{{"id", id}, {"protocol", "SFTP"}, {"email", id + "@example.com"}}.dump(),
                                     s.token, "add-" + id, "", "", 3});
        if (r.status == 200 || r.status == 201) {
          acknowledged.insert(id);
          break;
        }
        if (r.status != 0 && r.status < 500) {
          client_errors.push_back(id + ": " + std::to_string(r.status) + " " + r.text);
          break;
        }
      }
    }
  });

  std::mt19937 rng(std::random_device{}());
  int kills = 0, pauses = 0;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    const int i = static_cast<int>(rng() % kNodes);
    pid_t pid;
    {
      std::lock_guard<std::mutex> l(mu);
      pid = serves[i].pid;
    }
    if (rng() % 2 == 0) {
      ++kills;
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      start_node(i);
    } else {
      ++pauses;
      kill(pid, SIGSTOP);
      std::this_thread::sleep_for(std::chrono::milliseconds(3500 + rng() % 1500));  // past the 3 s takeover
      kill(pid, SIGCONT);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
  }
  stop = true;
  client.join();

  // Every due schedule activates, whoever leads by then.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  json activated;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = testing::serve_call(serves[0], "GET", "/v1/schedules?state=activated");
    if (r.status == 200 && r.body.size() == static_cast<size_t>(kSchedules)) {
      activated = r.body;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (int i = 0; i < kNodes; ++i) {
    EXPECT_EQ(testing::stop_serve(serves[i]), 0) << testing::read_file(dir.sub("serve" + std::to_string(i) + ".log"));
  }
  EXPECT_EQ(activated.size(), static_cast<size_t>(kSchedules));
  EXPECT_TRUE(client_errors.empty()) << client_errors.front();

  const json verified = node[0].ok({"replay", "--verify"});
  EXPECT_EQ(verified["verified"], true) << verified.dump();
  std::map<std::string, int> added, activations;
  for (const json& e : node[0].ok({"replay", "--events"})) {
    if (e["type"] == "PartnerAdded") ++added[e["stream"]];
    if (e["type"] == "ScheduleActivated") ++activations[e["stream"]];
  }
  for (const std::string& id : acknowledged) EXPECT_EQ(added["partner-" + id], 1) << id;
  for (const auto& [stream, n] : added) EXPECT_EQ(n, 1) << stream;
  EXPECT_EQ(activations.size(), due.size());
  for (const std::string& id : due) EXPECT_EQ(activations["schedule-" + id], 1) << id;
  for (int i = 0; i < kNodes; ++i) {
    const json replayed = node[i].ok({"replay"});
    EXPECT_EQ(replayed["deterministic"], true) << "node " << i << ": " << replayed.dump();
  }
  const std::string epoch = testing::shared_postgres().psql(uri.substr(uri.rfind('/') + 1),
                                                           "SELECT epoch FROM certsched.leader");
  std::cout << "[ chaos    ] " << kCycles << " cycles (" << kills << " kill -9, " << pauses << " SIGSTOP), "
            << acknowledged.size() << " acknowledged commands, " << activations.size()
            << " activations, leader epoch " << epoch;
}

}  // namespace
}  // namespace certsched
