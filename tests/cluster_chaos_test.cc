// Three `serve` nodes on one PostgreSQL database while clients write through all three APIs
// and nodes are killed (kill -9, then started again) or paused (SIGSTOP, then SIGCONT) at
// random, 30 times. Afterwards: the chain verifies, every acknowledged command is in the log
// once, every due schedule activated exactly once, every notification it owed was delivered
// (at least once, every copy with the same Message-ID, recorded once), and every node's
// projections equal a rebuild from the log.
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
#include "domain/event_codec.h"
#include "domain/events.h"
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
  testing::SmtpServer smtp(dir.sub("maildir"));
  smtp.start();
  node[0].ok({"init", "--admin-email", "pki@example.com", "--backend", uri, "--smtp", smtp.url()});
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
  // ... and delivers the mail they owe, whoever leads by then: every node's outbox empties.
  auto mail_queued = [&](int i) {
    const std::string metrics = testing::serve_call(serves[i], "GET", "/metrics").text;
    const std::string name = "\ncertsched_mail_queued ";
    const size_t at = metrics.find(name);
    return at == std::string::npos ? -1 : std::stoi(metrics.substr(at + name.size()));
  };
  while (std::chrono::steady_clock::now() < deadline + std::chrono::seconds(60) &&
         (mail_queued(0) != 0 || mail_queued(1) != 0 || mail_queued(2) != 0)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (int i = 0; i < kNodes; ++i) EXPECT_EQ(mail_queued(i), 0) << "node " << i;
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

  // Mail: recorded once each in the log, received at least once, every copy one Message-ID.
  std::map<std::string, int> recorded, received;
  eventstore::StoreOptions read_only;
  read_only.mode = eventstore::OpenMode::kReadOnly;
  auto log = eventstore::open_postgres_store(uri, "", read_only);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  auto records = (*log)->read_all(1, 1'000'000);
  ASSERT_TRUE(records.ok());
  for (const auto& r : *records) {
    auto e = domain::decode_event(r);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    if (const auto* m = std::get_if<domain::NotificationDelivered>(&*e)) ++recorded[m->message_id];
    if (const auto* m = std::get_if<domain::PartnerMailSent>(&*e)) ++recorded[m->message_id];
  }
  int copies = 0;
  for (const std::string& mail : smtp.messages()) {
    const size_t at = mail.find("\nMessage-ID: ");
    ASSERT_NE(at, std::string::npos) << mail;
    ++received[mail.substr(at + 13, mail.find_first_of("\r\n", at + 13) - at - 13)];
    ++copies;
  }
  EXPECT_GE(recorded.size(), static_cast<size_t>(kSchedules)) << "each activation tells the administrators";
  for (const auto& [id, n] : recorded) {
    EXPECT_EQ(n, 1) << id << " recorded " << n << " times";
    EXPECT_TRUE(received.count(id)) << "recorded mail " << id << " never arrived";
  }
  for (const auto& [id, n] : received) EXPECT_TRUE(recorded.count(id)) << "mail " << id << " was sent but never recorded";

  for (int i = 0; i < kNodes; ++i) {
    const json replayed = node[i].ok({"replay"});
    EXPECT_EQ(replayed["deterministic"], true) << "node " << i << ": " << replayed.dump();
  }
  const std::string epoch = testing::shared_postgres().psql(uri.substr(uri.rfind('/') + 1),
                                                           "SELECT epoch FROM certsched.head");
  std::cout << "[ chaos    ] " << kCycles << " cycles (" << kills << " kill -9, " << pauses << " SIGSTOP), "
            << acknowledged.size() << " acknowledged commands, " << activations.size()
            << " activations, " << recorded.size() << " mails (" << copies - static_cast<int>(received.size())
            << " sent again after a failover), leader epoch " << epoch;
}

}  // namespace
}  // namespace certsched
