// A clustered store as operators run it: nodes made with init --backend and join, one
// scheduler elected among them and fenced when it loses the role, commands serialised
// across nodes, and three `serve` nodes surviving kill -9 and SIGSTOP while clients write.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "adapters/listener_files.h"
#include "adapters/scheduler.h"
#include "adapters/store_session.h"
#include "base/clock.h"
#include "domain/instant.h"
#include "tests/cert_factory.h"
#include "tests/cli_runner.h"
#include "tests/http_client.h"
#include "tests/servers.h"
#include "tests/store_backends.h"
#include "tests/test_support.h"

namespace certsched {
namespace {

using nlohmann::json;
using testing::CertSpec;
using testing::StoreCli;

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds within) {
  const auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

TEST(SchedulerElectionTest, OneNodeLeadsAndAnOldLeadersAppendsAreFenced) {
  testing::StoreDir dir(testing::Backend::kPostgres);
  eventstore::StoreOptions o;
  o.create_if_missing = true;
  auto a = eventstore::open_postgres_store(dir.uri(), "", o).value();
  auto b = eventstore::open_postgres_store(dir.uri(), "", o).value();
  std::atomic<int> changes{0};
  auto lease_a = a->elect_scheduler("node-a", [&] { ++changes; });
  auto lease_b = b->elect_scheduler("node-b", [&] { ++changes; });
  ASSERT_TRUE(lease_a->leads());  // the first to ask, and it knows before it starts
  EXPECT_FALSE(lease_b->leads());
  EXPECT_EQ(lease_a->role(), "leader");
  EXPECT_EQ(lease_b->role(), "follower");
  const uint64_t old_epoch = lease_a->epoch();

  auto scheduler_append = [](eventstore::EventStore& s, uint64_t epoch, const std::string& id) {
    eventstore::AppendRequest r = testing::one_event("schedule-S1", eventstore::ExpectedVersion::Any(), id);
    r.leader_epoch = epoch;
    return s.append(r);
  };
  ASSERT_TRUE(scheduler_append(*a, old_epoch, "run-1").ok());

  // The leader lets go (as after a fenced refusal); the other node takes over.
  lease_a->step_down();
  ASSERT_TRUE(eventually([&] { return lease_b->leads(); }, std::chrono::seconds(10)));
  EXPECT_GT(lease_b->epoch(), old_epoch);
  const eventstore::Head before = a->head().value();
  auto stale = scheduler_append(*a, old_epoch, "run-2");
  ASSERT_FALSE(stale.ok());
  EXPECT_TRUE(eventstore::fenced(stale.status())) << stale.status().ToString();
  EXPECT_NE(stale.status().message().find("another node took over"), std::string::npos);
  EXPECT_EQ(a->head()->hash_hex, before.hash_hex);  // nothing of it was written
  EXPECT_TRUE(scheduler_append(*b, lease_b->epoch(), "run-3").ok());
  // The old leader's scheduler appends and its operators' commands (no epoch) sent at once,
  // and so sent together: only the scheduler's are refused.
  std::atomic<int> fenced{0}, appended{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto r = scheduler_append(*a, t % 2 ? old_epoch : 0, "mixed-" + std::to_string(t) + "-" + std::to_string(i));
        if (t % 2) {
          EXPECT_TRUE(!r.ok() && eventstore::fenced(r.status())) << r.status().ToString();
          fenced += !r.ok();
        } else {
          EXPECT_TRUE(r.ok()) << r.status().ToString();
          appended += r.ok();
        }
      }
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(fenced.load(), 40);
  EXPECT_EQ(appended.load(), 40);
  EXPECT_EQ(b->stream_version("schedule-S1").value(), 2u + 40u);  // run-1, run-3 and the commands
  // Never both at once.
  EXPECT_FALSE(lease_a->leads() && lease_b->leads());

  // The leader's process goes away: its session, and the lock, go with it.
  lease_b.reset();
  b.reset();
  EXPECT_TRUE(eventually([&] { return lease_a->leads(); }, std::chrono::seconds(10)));
  EXPECT_GE(changes.load(), 3);
}

// Two nodes of one store, made as an operator makes them, with two certificates and a partner.
class TwoNodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uri_ = testing::fresh_postgres_database();
    testing::CertFactory f(dir_.path());
    for (const char* n : {"sign-old", "sign-new"}) certs_[n] = f.make(CertSpec(n).password("pw"));
    testing::write_file(dir_.sub("pw.txt"), "pw\n");
    a().ok({"init", "--admin-email", "pki@example.com", "--backend", uri_});
    for (const char* n : {"sign-old", "sign-new"}) {
      a().ok({"cert", "import", "--alias", n, "--cert", certs_[n].cert_pem, "--key", certs_[n].key_pem,
              "--password-file", dir_.sub("pw.txt")});
    }
    a().ok({"partner", "add", "--id", "acme", "--protocol", "AS2", "--email", "edi@acme.example", "--local-signing",
            "sign-old"});
    b().ok({"join", "--backend", uri_, "--store-key", dir_.sub("a/store.key")});
  }
  StoreCli a() const { return StoreCli(dir_.sub("a")); }
  StoreCli b() const { return StoreCli(dir_.sub("b")); }
  // Both nodes' `serve`, started in turn: the first leads.
  void serve_both() {
    serve_a_ = testing::start_serve(dir_.sub("a"), dir_.sub("serve-a.log"));
    ASSERT_TRUE(serve_a_.ready) << testing::read_file(dir_.sub("serve-a.log"));
    serve_b_ = testing::start_serve(dir_.sub("b"), dir_.sub("serve-b.log"));
    ASSERT_TRUE(serve_b_.ready) << testing::read_file(dir_.sub("serve-b.log"));
    ASSERT_EQ(role(serve_a_), "leader");
  }
  static std::string role(const testing::ServeProcess& s) {
    return testing::serve_call(s, "GET", "/v1/health", nullptr, 2).body.value("role", std::string());
  }

  testing::TempDir dir_;
  std::string uri_;
  std::map<std::string, testing::CertFiles> certs_;
  testing::ServeProcess serve_a_, serve_b_;
};

TEST_F(TwoNodesTest, EveryNodeSeesTheSameStoreAndUsesItsSealedKeys) {
  EXPECT_EQ(b().ok({"partner", "show", "acme"})["current"]["local-signing"]["alias"], "sign-old");
  // A proposal on the second node needs the sealed key the first node imported (the
  // password is checked against it): it is in the database, not in the first node's DIR.
  json p = b().ok({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at", "now",
                   "--password-file", dir_.sub("pw.txt")});
  a().ok({"schedule", "confirm", p["proposal"]});
  b().ok({"tick"});
  EXPECT_EQ(a().ok({"partner", "show", "acme"})["current"]["local-signing"]["alias"], "sign-new");
  EXPECT_EQ(a().ok({"options", "show"})["evidence_key_id"], b().ok({"options", "show"})["evidence_key_id"]);
  EXPECT_EQ(a().ok({"replay", "--verify"})["head_hash"], b().ok({"replay", "--verify"})["head_hash"]);
  // A clustered store's log is backed up by the database's tools; backup says so, and
  // copies the node's own part, which restore makes a node of the same store again.
  auto backup = b().run({"backup", dir_.sub("backup"), "--with-secrets"}, false);
  EXPECT_EQ(backup.exit_code, 0) << backup.err;
  EXPECT_NE(backup.err.find("pg_dump"), std::string::npos) << backup.err;
  EXPECT_FALSE(std::filesystem::exists(dir_.sub("backup/events")));
  json restored = StoreCli(dir_.sub("b2")).ok({"restore", dir_.sub("backup")});
  EXPECT_EQ(restored["head_hash"], a().ok({"replay", "--verify"})["head_hash"]);
  EXPECT_EQ(StoreCli(dir_.sub("b2")).ok({"partner", "show", "acme"})["current"]["local-signing"]["alias"], "sign-new");
}

TEST_F(TwoNodesTest, TwoNodesProposingAtOnceNeverBothOpenASchedule) {
  auto node_a = adapters::open_store_session(dir_.sub("a"), true, "test a").value();
  auto node_b = adapters::open_store_session(dir_.sub("b"), true, "test b").value();
  domain::ProposeCommand c;
  c.partners = {"acme"};
  c.roles = {{domain::Role::kLocalSigning, "sign-new"}};
  c.password = "pw";
  for (int round = 0; round < 10; ++round) {
    std::atomic<int> ready{0};
    Result<domain::CommandResult> results[2] = {Status::IOError("not run"), Status::IOError("not run")};
    auto propose = [&](adapters::StoreSession& node, int i) {
      const domain::ProposeCommand mine = c;
      ++ready;
      while (ready.load() < 2) {
      }
      results[i] = node.engine->propose(mine, {"race-" + std::to_string(round) + "-" + std::to_string(i),
                                               "test", base::now_ns()});
    };
    std::thread ta(propose, std::ref(*node_a), 0), tb(propose, std::ref(*node_b), 1);
    ta.join();
    tb.join();
    ASSERT_NE(results[0].ok(), results[1].ok()) << results[0].status().ToString() << " / " << results[1].status().ToString();
    const auto& winner = results[0].ok() ? results[0] : results[1];
    const auto& loser = results[0].ok() ? results[1] : results[0];
    EXPECT_EQ(loser.status().code(), Status::Code::kConflict);
    EXPECT_NE(loser.status().message().find("already has an open local-signing schedule"), std::string::npos)
        << loser.status().message();
    EXPECT_NE(loser.status().message().find("(proposal " + winner->proposal_id), std::string::npos)
        << loser.status().message();
    // Withdrawn for the next round.
    ASSERT_TRUE(node_a->engine->decline(winner->proposal_id, {"decline-" + std::to_string(round), "test", base::now_ns()}).ok());
  }
}

// The leader sends an activation's mail and is paused before it can record it; the node
// that takes over sends it again, with the same Message-ID, and records it; the old leader,
// woken, finishes its send and is fenced when it tries to record it.
TEST_F(TwoNodesTest, MailAPausedLeaderSentIsSentAgainByTheNextWithTheSameMessageIdAndRecordedOnce) {
  testing::SmtpServer smtp(dir_.sub("maildir"));
  smtp.start();
  a().ok({"options", "set", "--smtp", smtp.url()});
  ASSERT_NO_FATAL_FAILURE(serve_both());
  testing::ServeProcess& serve_a = serve_a_;
  testing::ServeProcess& serve_b = serve_b_;
  EXPECT_EQ(role(serve_b), "follower");

  // The mail server takes the connection but answers nothing yet: the leader's send hangs.
  kill(smtp.pid(), SIGSTOP);
  json p = a().ok({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at", "now",
                   "--password-file", dir_.sub("pw.txt")});
  a().ok({"schedule", "confirm", p["proposal"]});
  ASSERT_TRUE(eventually([&] { return testing::serve_call(serve_b, "GET", "/v1/schedules?state=activated").body.size() == 1; },
                         std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // its mail worker is connecting
  kill(serve_a.pid, SIGSTOP);
  ASSERT_TRUE(eventually([&] { return role(serve_b) == "leader"; }, std::chrono::seconds(10)));
  kill(smtp.pid(), SIGCONT);
  auto metric = [](const testing::ServeProcess& s, const std::string& name) {
    const std::string text = testing::serve_call(s, "GET", "/metrics").text;
    const size_t at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stoi(text.substr(at + name.size() + 2));
  };
  ASSERT_TRUE(eventually([&] { return metric(serve_b, "certsched_mail_queued") == 0; }, std::chrono::seconds(20)));
  kill(serve_a.pid, SIGCONT);  // it finishes the send it began, then is refused its record
  ASSERT_TRUE(eventually([&] { return smtp.messages().size() >= 2; }, std::chrono::seconds(20)));
  EXPECT_TRUE(eventually([&] { return role(serve_a) == "follower"; }, std::chrono::seconds(10)));
  EXPECT_EQ(testing::stop_serve(serve_a), 0);
  EXPECT_EQ(testing::stop_serve(serve_b), 0);

  const auto messages = smtp.messages();
  ASSERT_EQ(messages.size(), 2u);
  auto message_id = [](const std::string& mail) {
    const size_t at = mail.find("\nMessage-ID: ");
    return at == std::string::npos ? "" : mail.substr(at + 13, mail.find_first_of("\r\n", at + 13) - at - 13);
  };
  EXPECT_FALSE(message_id(messages[0]).empty());
  EXPECT_EQ(message_id(messages[0]), message_id(messages[1]));
  int recorded = 0;
  for (const json& e : a().ok({"replay", "--events"})) recorded += e["type"] == "NotificationDelivered";
  EXPECT_EQ(recorded, 1);
}

// The leader installs a listener's new certificate into nginx and is paused before it can
// record the install; the node that takes over installs it again (the same files, another
// reload) and records it; the old leader, woken, is refused its record and steps down.
TEST_F(TwoNodesTest, AListenerInstallAPausedLeaderDidIsDoneAgainByTheNextAndRecordedOnce) {
  testing::CertFactory f(dir_.path());
  for (const char* n : {"srv-old", "srv-new"}) {
    certs_[n] = f.make(CertSpec(n).password("pw").extended_usage("serverAuth"));
    a().ok({"cert", "import", "--alias", n, "--cert", certs_[n].cert_pem, "--key", certs_[n].key_pem,
            "--password-file", dir_.sub("pw.txt")});
  }
  a().ok({"partner", "add", "--id", "globex", "--protocol", "AS2", "--email", "edi@globex.example",
          "--local-signing", "sign-old", "--local-ssl-server", "srv-old"});
  const std::string www = dir_.sub("www");
  a().ok({"listener", "configure", "HTTP", "--cert", "srv-old", "--dir", www});
  testing::NginxServer nginx(dir_.sub("nginx"), www);
  nginx.start();
  // Each reload is counted, then takes a while: long enough to pause the node running it.
  const std::string reloads = dir_.sub("reloads.txt");
  testing::write_file(dir_.sub("reload.sh"),
                      "echo reload >> " + reloads + "\nsleep 2\n" + nginx.reload_command() + "\n");
  b().ok({"listener", "configure", "HTTP", "--cert", "srv-old", "--reload-command", "sh " + dir_.sub("reload.sh")});
  auto reload_count = [&] {
    const std::string text = std::filesystem::exists(reloads) ? testing::read_file(reloads) : "";
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  };
  const int configured_reloads = reload_count();

  ASSERT_NO_FATAL_FAILURE(serve_both());
  testing::ServeProcess& serve_a = serve_a_;
  testing::ServeProcess& serve_b = serve_b_;

  json p = b().ok({"schedule", "propose", "--partners", "globex", "--role", "local-ssl-server=srv-new", "--at", "now",
                   "--password-file", dir_.sub("pw.txt")});
  b().ok({"schedule", "confirm", p["proposal"]});
  ASSERT_TRUE(eventually([&] { return reload_count() > configured_reloads; }, std::chrono::seconds(10)));
  kill(serve_a.pid, SIGSTOP);  // its reload goes on without it; its record waits
  ASSERT_TRUE(eventually([&] { return role(serve_b) == "leader"; }, std::chrono::seconds(10)));
  ASSERT_TRUE(eventually([&] { return testing::tls_fingerprint(nginx.port()) == certs_["srv-new"].fingerprint; },
                         std::chrono::seconds(20)));
  ASSERT_TRUE(eventually([&] { return b().ok({"listener", "show", "HTTP"})[0]["pending"].is_null(); },
                         std::chrono::seconds(10)));
  kill(serve_a.pid, SIGCONT);
  EXPECT_TRUE(eventually([&] { return role(serve_a) == "follower"; }, std::chrono::seconds(10)));
  // Its reload ends; its record is refused, and it says so.
  EXPECT_TRUE(eventually([&] { return testing::read_file(dir_.sub("serve-a.log")).find("nothing was recorded") !=
                                      std::string::npos; },
                         std::chrono::seconds(10)))
      << testing::read_file(dir_.sub("serve-a.log"));
  EXPECT_EQ(testing::stop_serve(serve_a), 0) << testing::read_file(dir_.sub("serve-a.log"));
  EXPECT_EQ(testing::stop_serve(serve_b), 0);

  EXPECT_GE(reload_count(), configured_reloads + 2);  // at least once by each leader
  EXPECT_EQ(testing::tls_fingerprint(nginx.port()), certs_["srv-new"].fingerprint);
  // And the files stay whole for nginx's next start: the old leader pruned none of them.
  EXPECT_EQ(testing::read_file(www + "/cert.pem"), testing::read_file(certs_["srv-new"].cert_pem));
  int installs = 0, activations = 0;
  for (const json& e : a().ok({"replay", "--events"})) {
    installs += e["type"] == "ListenerCertificateInstalled";
    activations += e["type"] == "ScheduleActivated";
  }
  EXPECT_EQ(installs, 1);
  EXPECT_EQ(activations, 1);
  EXPECT_EQ(a().ok({"listener", "show", "HTTP"})[0]["current"]["alias"], "srv-new");
  EXPECT_TRUE(a().ok({"replay", "--verify"})["verified"].get<bool>());
}

// Every record a scheduler run makes carries the run's leader epoch: a run under an epoch
// another node has replaced activates nothing, and the new leader's run does.
TEST_F(TwoNodesTest, ASchedulerRunUnderAReplacedEpochRecordsNothing) {
  json p = a().ok({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at", "now",
                   "--password-file", dir_.sub("pw.txt")});
  a().ok({"schedule", "confirm", p["proposal"]});
  auto node_a = adapters::open_store_session(dir_.sub("a"), true, "test a").value();
  auto node_b = adapters::open_store_session(dir_.sub("b"), true, "test b").value();
  auto lease_a = node_a->store->elect_scheduler("node-a", [] {});
  ASSERT_TRUE(lease_a->leads());
  const uint64_t old_epoch = lease_a->epoch();
  lease_a->step_down();
  auto lease_b = node_b->store->elect_scheduler("node-b", [] {});
  ASSERT_TRUE(eventually([&] { return lease_b->leads(); }, std::chrono::seconds(10)));
  const json before = a().ok({"replay", "--verify"});

  adapters::FileListenerInstaller installer({std::chrono::seconds(5)});
  adapters::Scheduler old_leader(*node_a->engine, node_a->outbox, installer);
  auto refused = old_leader.run_once({"old-leader-run", "scheduler", base::now_ns(), old_epoch});
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(eventstore::fenced(refused.status())) << refused.status().ToString();
  EXPECT_EQ(a().ok({"replay", "--verify"})["head_hash"], before["head_hash"]);
  EXPECT_EQ(a().ok({"partner", "show", "acme"})["current"]["local-signing"]["alias"], "sign-old");

  adapters::Scheduler new_leader(*node_b->engine, node_b->outbox, installer);
  auto ran = new_leader.run_once({"new-leader-run", "scheduler", base::now_ns(), lease_b->epoch()});
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  EXPECT_EQ(ran->activated.size(), 1u);
  EXPECT_EQ(a().ok({"partner", "show", "acme"})["current"]["local-signing"]["alias"], "sign-new");
}

// `tick` is the scheduler too: on a clustered store it runs only when no node's `serve`
// schedules, and then under an epoch of its own, which it gives back when it ends.
TEST_F(TwoNodesTest, TickIsRefusedWhileAServeNodeSchedulesAndOtherwiseRunsAsTheScheduler) {
  testing::ServeProcess serve = testing::start_serve(dir_.sub("a"), dir_.sub("serve-a.log"));
  ASSERT_TRUE(serve.ready) << testing::read_file(dir_.sub("serve-a.log"));
  ASSERT_EQ(role(serve), "leader");
  const json head = b().ok({"replay", "--verify"});
  auto refused = b().run({"tick"});
  EXPECT_EQ(refused.exit_code, 3) << refused.err;
  EXPECT_NE(refused.err.find("another node's `serve` schedules"), std::string::npos) << refused.err;
  EXPECT_EQ(b().ok({"replay", "--verify"})["head_hash"], head["head_hash"]);  // nothing appended
  EXPECT_EQ(role(serve), "leader");
  EXPECT_EQ(testing::stop_serve(serve), 0);

  // No serve: tick activates what is due, as the embedded store's tick does.
  json p = b().ok({"schedule", "propose", "--partners", "acme", "--role", "local-signing=sign-new", "--at", "now",
                   "--password-file", dir_.sub("pw.txt")});
  a().ok({"schedule", "confirm", p["proposal"]});
  json ran = b().ok({"tick"});
  ASSERT_EQ(ran["activated"].size(), 1u) << ran.dump();
  EXPECT_EQ(a().ok({"partner", "show", "acme"})["current"]["local-signing"]["alias"], "sign-new");
  // And a serve started afterwards leads at once: tick let the role go when it ended.
  serve = testing::start_serve(dir_.sub("a"), dir_.sub("serve-a2.log"));
  ASSERT_TRUE(serve.ready) << testing::read_file(dir_.sub("serve-a2.log"));
  EXPECT_TRUE(eventually([&] { return role(serve) == "leader"; }, std::chrono::seconds(5)));
  EXPECT_EQ(testing::stop_serve(serve), 0);
}

TEST_F(TwoNodesTest, AWrongStoreKeyAnEmptyDatabaseOrAUsedDirectoryAreRefusedWithNothingWritten) {
  testing::write_file(dir_.sub("other.key"), std::string(64, 'a') + "\n");
  auto wrong = StoreCli(dir_.sub("c")).run({"join", "--backend", uri_, "--store-key", dir_.sub("other.key")});
  EXPECT_EQ(wrong.exit_code, 3);
  EXPECT_NE(wrong.err.find("not the store.key of the store's first node"), std::string::npos) << wrong.err;
  EXPECT_FALSE(std::filesystem::exists(dir_.sub("c")));

  const std::string empty = testing::fresh_postgres_database();
  auto nothing = StoreCli(dir_.sub("d")).run({"join", "--backend", empty, "--store-key", dir_.sub("a/store.key")});
  EXPECT_NE(nothing.exit_code, 0);
  EXPECT_NE(nothing.err.find("init --backend"), std::string::npos) << nothing.err;
  EXPECT_FALSE(std::filesystem::exists(dir_.sub("d")));

  auto used = b().refused({"join", "--backend", uri_, "--store-key", dir_.sub("a/store.key")});
  EXPECT_NE(used.err.find("not empty"), std::string::npos) << used.err;
  auto again = StoreCli(dir_.sub("e")).run({"init", "--admin-email", "x@example.com", "--backend", uri_});
  EXPECT_EQ(again.exit_code, 3);
  EXPECT_NE(again.err.find("already holds a store"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("join"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_.sub("e")));  // not even the writer lock

  const int closed = testing::free_port();
  auto unreachable = StoreCli(dir_.sub("f")).run(
      {"init", "--admin-email", "x@example.com", "--backend",
       "postgresql://postgres@127.0.0.1:" + std::to_string(closed) + "/x?connect_timeout=2"});
  EXPECT_NE(unreachable.exit_code, 0);
  EXPECT_NE(unreachable.err.find("cannot connect to PostgreSQL"), std::string::npos) << unreachable.err;
  EXPECT_FALSE(std::filesystem::exists(dir_.sub("f")));
  auto with_password = StoreCli(dir_.sub("g")).run(
      {"init", "--admin-email", "x@example.com", "--backend", "postgresql://postgres:secret@127.0.0.1/x"});
  EXPECT_EQ(with_password.exit_code, 3);
  EXPECT_NE(with_password.err.find("PGPASSFILE"), std::string::npos) << with_password.err;
  EXPECT_EQ(with_password.err.find("secret"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_.sub("g")));

  // A directory made empty beforehand (by a provisioning tool, say) stays there, empty.
  std::filesystem::create_directories(dir_.sub("h"));
  auto malformed = StoreCli(dir_.sub("h")).run({"init", "--admin-email", "x@example.com", "--backend", "garbage"});
  EXPECT_EQ(malformed.exit_code, 3);
  EXPECT_NE(malformed.err.find("malformed"), std::string::npos) << malformed.err;
  EXPECT_TRUE(std::filesystem::is_empty(dir_.sub("h")));
}

}  // namespace
}  // namespace certsched
