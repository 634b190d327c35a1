// Crash consistency of the whole engine, as users run it: the real `certsched` binary is
// SIGKILLed at random moments during propose, confirm, tick and serve (with its HTTP API
// answering a confirm), with projections, the notification outbox, a real SMTP server and a
// listener directory all in play, over and over. After every kill:
//   - the log verifies, and every command that was acknowledged (exit 0, HTTP 200, or a
//     serve log line) is in it;
//   - no projection is ahead of the log;
//   - the listener directory holds a matching certificate and key, or nothing.
// At the end, once a clean tick has caught up: the projections equal a rebuild, every
// schedule has activated, the listener serves what certsched records, and every mail the
// log records as sent was received, and every mail received is recorded (duplicates carry
// the same Message-ID).
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "domain/event_codec.h"
#include "domain/instant.h"
#include "eventstore/event_store.h"
#include "projections/projection_store.h"
#include "tests/cert_factory.h"
#include "tests/cli_runner.h"
#include "tests/servers.h"
#include "tests/test_support.h"

namespace certsched {
namespace {

using nlohmann::json;
using testing::CertSpec;
using testing::run_cli;

constexpr int kPartners = 4;
constexpr int kSigningCerts = 6;
constexpr int kServerCerts = 3;

std::string at_in_seconds(int seconds) {
  const auto now = std::chrono::system_clock::now() + std::chrono::seconds(seconds);
  return domain::format_instant(std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count());
}

// The SHA-256 fingerprint of a PEM certificate, as `openssl x509 -fingerprint` prints it.
std::string fingerprint_of(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert, EVP_sha256(), md, &len);
  std::string out;
  char hex[4];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(hex, sizeof hex, i ? ":%02X" : "%02X", md[i]);
    out += hex;
  }
  return out;
}

// The listener directory's pair, as a TLS server would load it: "" if neither file is
// there, the certificate's fingerprint if both are and match, or the problem.
std::string listener_pair(const std::string& dir, std::string* problem) {
  const bool has_cert = std::filesystem::exists(dir + "/cert.pem"), has_key = std::filesystem::exists(dir + "/key.pem");
  if (!has_cert && !has_key) return "";
  if (has_cert != has_key) {
    *problem = has_cert ? "cert.pem without key.pem" : "key.pem without cert.pem";
    return "";
  }
  const std::string cert_pem = testing::read_file(dir + "/cert.pem"), key_pem = testing::read_file(dir + "/key.pem");
  BIO* cb = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  BIO* kb = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
  std::string fp;
  if (!cert) *problem = "cert.pem does not parse (" + std::to_string(cert_pem.size()) + " bytes)";
  else if (!key) *problem = "key.pem does not parse (" + std::to_string(key_pem.size()) + " bytes)";
  else if (X509_check_private_key(cert, key) != 1) *problem = "key.pem does not match cert.pem";
  else fp = fingerprint_of(cert);
  X509_free(cert);
  EVP_PKEY_free(key);
  BIO_free(cb);
  BIO_free(kb);
  return fp;
}

struct LogFacts {
  uint64_t head = 0;
  std::set<std::string> mail_recorded;  // Message-IDs the log records as accepted by SMTP
  int listener_installs = 0;
};

LogFacts read_log(const std::string& store) {
  eventstore::StoreOptions o;
  o.mode = eventstore::OpenMode::kReadOnly;
  auto s = eventstore::open_rocksdb_store(store, o);
  if (!s.ok()) throw std::runtime_error(s.status().message());
  LogFacts facts;
  facts.head = (*s)->head()->position;
  auto records = (*s)->read_all(1, facts.head + 1);
  if (!records.ok()) throw std::runtime_error(records.status().message());
  for (const auto& r : *records) {
    auto e = domain::decode_event(r);
    if (!e.ok()) throw std::runtime_error(e.status().message());
    if (const auto* m = std::get_if<domain::PartnerMailSent>(&*e)) facts.mail_recorded.insert(m->message_id);
    if (const auto* m = std::get_if<domain::NotificationDelivered>(&*e)) facts.mail_recorded.insert(m->message_id);
    facts.listener_installs += std::holds_alternative<domain::ListenerCertificateInstalled>(*e);
  }
  return facts;
}

std::string message_id_of(const std::string& mail) {
  const size_t at = mail.find("\nMessage-ID: ");
  if (at == std::string::npos) return "";
  const size_t start = at + 13;
  return mail.substr(start, mail.find_first_of("\r\n", start) - start);
}

class EngineCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::CertFactory f(dir_.path());
    for (int i = 0; i < kSigningCerts; ++i) certs_["sign-" + std::to_string(i)] = f.make(CertSpec("sign-" + std::to_string(i)).password("pw"));
    for (int i = 0; i < kServerCerts; ++i) {
      certs_["srv-" + std::to_string(i)] = f.make(CertSpec("srv-" + std::to_string(i)).extended_usage("serverAuth").password("pw"));
    }
    certs_["psign"] = f.make(CertSpec("psign"));
    testing::write_file(dir_.sub("pw.txt"), "pw\n");
    smtp_ = std::make_unique<testing::SmtpServer>(dir_.sub("mail"));
    smtp_->start();

    ok({"init", "--admin-email", "pki@example.com", "--smtp", smtp_->url(), "--mail-from", "certsched@example.com"});
    for (const auto& [alias, files] : certs_) {
      if (alias == "psign") ok({"cert", "import", "--alias", alias, "--cert", files.cert_pem, "--partner-cert"});
      else ok({"cert", "import", "--alias", alias, "--cert", files.cert_pem, "--key", files.key_pem, "--password-file", dir_.sub("pw.txt")});
    }
    for (int i = 0; i < kPartners; ++i) {
      const std::string id = "p" + std::to_string(i);
      partners_.push_back(id);
      ok({"partner", "add", "--id", id, "--protocol", "AS2", "--email", id + "@partner.example", "--local-signing", "sign-0",
          "--partner-signing", "psign", "--local-ssl-server", "srv-0"});
    }
    // The reload takes a moment, which widens the window a kill can land in.
    ok({"listener", "configure", "HTTP", "--cert", "srv-0", "--dir", listener_dir(), "--reload-command", "sleep 0.05"});
  }

  std::string store() const { return dir_.sub("store"); }
  std::string listener_dir() const { return dir_.sub("www"); }
  std::vector<std::string> with_store(std::vector<std::string> args) const {
    return testing::StoreCli(store()).args_for(args);
  }
  // Throws rather than EXPECTs: a crash cycle that cannot read the store must stop the loop.
  json ok(const std::vector<std::string>& args) {
    auto r = testing::StoreCli(store()).run(args);
    if (r.exit_code != 0) throw std::runtime_error(args[0] + " failed (" + std::to_string(r.exit_code) + "): " + r.err);
    return r.out.empty() ? json() : json::parse(r.out);
  }
  std::map<std::string, json> schedules_by_id() {
    std::map<std::string, json> out;
    for (const auto& s : ok({"schedule", "list"})) out[s["id"]] = s;
    return out;
  }
  std::vector<std::string> proposals_in_state(const std::string& state) {
    std::set<std::string> ids;
    for (const auto& s : ok({"schedule", "list", "--state", state})) ids.insert(s["proposal"].get<std::string>());
    return {ids.begin(), ids.end()};
  }

  // A proposal the engine should take: partners without an open schedule for the role.
  std::vector<std::string> propose_args(std::mt19937& rng) {
    std::uniform_int_distribution<int> pct(0, 99);
    std::set<std::pair<std::string, std::string>> open;  // (partner, role)
    for (const auto& [id, s] : schedules_by_id()) {
      if (s["state"] != "activated" && s["state"] != "withdrawn" && s["state"] != "cancelled") open.insert({s["partner"].get<std::string>(), s["role"].get<std::string>()});
    }
    bool server_open = false;
    for (const auto& [partner, role] : open) server_open |= role == "local-ssl-server";
    std::vector<std::string> args{"schedule", "propose", "--password-file", dir_.sub("pw.txt")};
    if (!server_open && pct(rng) < 25) {
      // A new listener certificate for every partner that uses the listener.
      args.insert(args.end(), {"--partners", "p0,p1,p2,p3", "--role", "local-ssl-server=srv-" + std::to_string(1 + pct(rng) % (kServerCerts - 1))});
    } else {
      std::string partners;
      for (const auto& p : partners_) {
        if (!open.count({p, "local-signing"}) && pct(rng) < 60) partners += (partners.empty() ? "" : ",") + p;
      }
      if (partners.empty()) partners = partners_[pct(rng) % kPartners];  // likely refused: a duplicate
      args.insert(args.end(), {"--partners", partners, "--role", "local-signing=sign-" + std::to_string(pct(rng) % kSigningCerts)});
      if (pct(rng) < 50) args.push_back("--email-partners");
    }
    const int in = pct(rng) % 4;  // now, or a few seconds on
    args.insert(args.end(), {"--at", in == 0 ? "now" : at_in_seconds(in)});
    return args;
  }

  // Runs `serve`, confirms `proposal` through its API once it answers, and kills it after
  // `run_ms`. Returns serve's output; sets *confirmed when the API acknowledged the confirm.
  testing::CliResult serve_and_kill(const std::string& proposal, int run_ms, bool* confirmed) {
    const int port = testing::free_port();
    auto confirm = std::async(std::launch::async, [&] {
      if (proposal.empty()) return false;
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(run_ms);
      while (!testing::port_open(port)) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      const std::string token = testing::read_file(store() + "/api-token");
      const std::string cmd = "curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST -H 'Authorization: Bearer " +
                              token.substr(0, token.find('\n')) + "' -H 'Idempotency-Key: crash-" + proposal + "' http://127.0.0.1:" +
                              std::to_string(port) + "/v1/proposals/" + proposal + "/confirm 2>/dev/null";
      try {
        return testing::shell(cmd) == "200";
      } catch (...) {
        return false;  // killed before it answered
      }
    });
    auto r = testing::run_cli_killed_after(with_store({"serve", "--listen", "127.0.0.1:" + std::to_string(port)}), run_ms);
    *confirmed = confirm.get();
    return r;
  }

  // What every kill must leave behind.
  void check_after_kill(const std::string& what) {
    SCOPED_TRACE(what);
    auto verified = run_cli(with_store({"replay", "--verify"}));
    ASSERT_EQ(verified.exit_code, 0) << verified.err;
    ASSERT_TRUE(json::parse(verified.out)["verified"].get<bool>()) << verified.out;
    const LogFacts log = read_log(store());
    auto p = projections::ProjectionStore::open(store(), true);
    ASSERT_TRUE(p.ok()) << p.status().message();
    for (const auto& name : projections::kProjections) {
      auto cp = (*p)->checkpoint(name);
      ASSERT_TRUE(cp.ok()) << name << ": " << cp.status().message();
      EXPECT_LE(cp.value(), log.head) << name << " is ahead of the log";
    }
    p->reset();

    const auto schedules = schedules_by_id();
    for (const auto& [id, proposal] : acked_proposed_) EXPECT_TRUE(schedules.count(id)) << "acknowledged schedule " << id << " lost";
    for (const auto& id : acked_confirmed_) {
      for (const auto& [sid, s] : schedules) {
        if (s["proposal"] == id) {
          EXPECT_NE(s["state"], "proposed") << "acknowledged confirm of " << id << " lost";
        }
      }
    }
    for (const auto& id : acked_activated_) {
      EXPECT_EQ(schedules.count(id) ? schedules.at(id)["state"] : json(), "activated") << "acknowledged activation of " << id << " lost";
    }
    std::string problem;
    const std::string fp = listener_pair(listener_dir(), &problem);
    EXPECT_TRUE(problem.empty()) << "listener directory: " << problem;
    EXPECT_TRUE(fp.empty() || server_fingerprints().count(fp)) << "listener holds an unknown certificate " << fp;
  }

  std::set<std::string> server_fingerprints() {
    std::set<std::string> out;
    for (int i = 0; i < kServerCerts; ++i) out.insert(certs_["srv-" + std::to_string(i)].fingerprint);
    return out;
  }

  testing::TempDir dir_;
  std::map<std::string, testing::CertFiles> certs_;
  std::unique_ptr<testing::SmtpServer> smtp_;
  std::vector<std::string> partners_;
  std::map<std::string, std::string> acked_proposed_;  // schedule -> proposal
  std::set<std::string> acked_confirmed_, acked_activated_;
};

TEST_F(EngineCrashTest, SigkillDuringProposeConfirmTickAndServeLosesNothing) {
  const char* env = std::getenv("CERTSCHED_ENGINE_CRASH_CYCLES");
  const int cycles = env ? std::atoi(env) : 40;
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pct(0, 99);
  std::map<std::string, int> kills, finished, refusals;

  for (int cycle = 0; cycle < cycles; ++cycle) {
    const int roll = pct(rng);
    // Kill times span from "before the store is open" to "after it has finished", so kills
    // land at every step of the command.
    // (A command takes about 100 ms here.)
    const int kill_ms = std::uniform_int_distribution<int>(5, 250)(rng);
    std::string op;
    testing::CliResult r;
    if (roll < 35) {
      op = "propose";
      r = testing::run_cli_killed_after(with_store(propose_args(rng)), kill_ms);
      if (r.exit_code == 0) {
        const json answer = json::parse(r.out);
        for (const auto& s : answer["schedules"]) acked_proposed_[s["id"]] = s["proposal"];
      }
      if (r.exit_code == 3) refusals[r.err]++;
    } else if (roll < 55) {
      op = "confirm";
      const auto open = proposals_in_state("proposed");
      if (open.empty()) continue;
      const std::string id = open[pct(rng) % open.size()];
      r = testing::run_cli_killed_after(with_store({"schedule", "confirm", id}), kill_ms);
      if (r.exit_code == 0) acked_confirmed_.insert(id);
    } else if (roll < 80) {
      op = "tick";
      r = testing::run_cli_killed_after(with_store({"tick"}), kill_ms);
      if (r.exit_code == 0) {
        const json answer = json::parse(r.out);
        for (const auto& id : answer["activated"]) acked_activated_.insert(id);
      }
    } else {
      op = "serve";
      const auto open = proposals_in_state("proposed");
      const std::string proposal = open.empty() ? "" : open[pct(rng) % open.size()];
      bool confirmed = false;
      r = serve_and_kill(proposal, std::uniform_int_distribution<int>(100, 1500)(rng), &confirmed);
      if (confirmed) acked_confirmed_.insert(proposal);
      // serve logs each activation after it is recorded.
      for (size_t at = 0; (at = r.out.find(" activated S", at)) != std::string::npos; ++at) {
        const size_t start = at + 11;
        acked_activated_.insert(r.out.substr(start, r.out.find_first_of(" \n", start) - start));
      }
    }
    // A command that was not killed either did its work or refused it (3: a duplicate
    // schedule, a conflicting listener certificate); nothing else is acceptable.
    if (!r.killed) {
      EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 3) << op << " exited " << r.exit_code << ": " << r.err;
    }
    (r.killed ? kills : finished)[op]++;
    check_after_kill("cycle " + std::to_string(cycle) + ", " + op + (r.killed ? " killed" : " finished"));
    if (HasFatalFailure()) return;
  }

  // Catch up: confirm whatever is still proposed, wait for the last due instant, then tick
  // until nothing is left to do.
  for (const auto& id : proposals_in_state("proposed")) ok({"schedule", "confirm", id});
  std::this_thread::sleep_for(std::chrono::seconds(4));
  for (int i = 0; i < 5; ++i) {
    const json t = ok({"tick"});
    if (t["activated"].empty() && t["installed"].empty() && t["mail"]["delivered"] == 0) break;
  }

  const LogFacts log = read_log(store());
  auto p = projections::ProjectionStore::open(store(), true);
  ASSERT_TRUE(p.ok());
  for (const auto& name : projections::kProjections) EXPECT_EQ((*p)->checkpoint(name).value(), log.head) << name << " did not catch up";
  auto outbox = (*p)->scan("outbox");
  ASSERT_TRUE(outbox.ok());
  EXPECT_TRUE(outbox->empty()) << outbox->size() << " notifications still owed after catch-up";
  p->reset();
  auto rebuilt = run_cli(with_store({"replay"}));
  EXPECT_EQ(rebuilt.exit_code, 0) << "the live projections differ from a rebuild: " << rebuilt.out << rebuilt.err;

  size_t activated = 0;
  for (const auto& [id, s] : schedules_by_id()) {
    EXPECT_TRUE(s["state"] == "activated" || s["state"] == "withdrawn" || s["state"] == "cancelled")
        << id << " is still " << s["state"] << " after catch-up";
    activated += s["state"] == "activated";
  }
  std::string problem;
  const std::string fp = listener_pair(listener_dir(), &problem);
  EXPECT_TRUE(problem.empty()) << problem;
  EXPECT_EQ(fp, ok({"listener", "show", "HTTP"})[0]["current"]["fingerprint"]) << "the listener serves what certsched does not record";

  std::map<std::string, int> received;
  for (const auto& mail : smtp_->messages()) received[message_id_of(mail)]++;
  int duplicates = 0;
  for (const auto& [id, count] : received) {
    EXPECT_TRUE(log.mail_recorded.count(id)) << "mail " << id << " was sent but never recorded";
    duplicates += count - 1;
  }
  for (const auto& id : log.mail_recorded) EXPECT_TRUE(received.count(id)) << "recorded mail " << id << " never arrived";

  std::cout << "[ crash    ] " << cycles << " cycles;";
  for (const auto& [op, n] : kills) std::cout << " " << op << " killed " << n << "/" << n + finished[op] << ";";
  std::cout << " acknowledged: " << acked_proposed_.size() << " schedules proposed, " << acked_confirmed_.size()
            << " proposals confirmed, " << acked_activated_.size() << " activations; after catch-up " << activated
            << " activated, " << log.listener_installs << " listener installs, " << log.mail_recorded.size() << " mails, " << duplicates << " sent twice\n";
  for (auto& [e, n] : refusals) std::cout << "[ refused  ] " << n << "x " << e;
  EXPECT_GT(kills["propose"] + kills["confirm"] + kills["tick"] + kills["serve"], 0);
}

// SIGKILL during `backup`, at random moments: the store and an earlier backup stay intact,
// and the interrupted backup is either absent or whole (it restores); what it left half
// written is never taken for a backup.
TEST(BackupCrashTest, SigkillDuringABackupLeavesTheStoreAndEarlierBackupsIntact) {
  namespace fs = std::filesystem;
  testing::TempDir work;
  const testing::StoreCli cli(work.sub("store"));
  cli.ok({"init", "--admin-email", "pki@example.com"});
  for (int i = 0; i < 20; ++i) {
    cli.ok({"partner", "add", "--id", "p" + std::to_string(i), "--protocol", "AS2", "--email", "edi@p.example"});
  }
  cli.ok({"backup", work.sub("earlier")});
  const json head = cli.ok({"replay", "--verify"});
  std::mt19937 rng(std::random_device{}());
  int whole = 0, absent = 0;
  for (int i = 0; i < 25; ++i) {
    const std::string dest = work.sub("b" + std::to_string(i));
    // Every fifth kill comes early (before the copy can have finished), the rest anywhere.
    const int kill_after_ms = static_cast<int>(i % 5 == 0 ? rng() % 20 : rng() % 250);
    const testing::CliResult r = testing::run_cli_killed_after(cli.args_for({"backup", dest}), kill_after_ms);
    SCOPED_TRACE("backup killed: " + std::to_string(r.killed));
    const json now = cli.ok({"replay", "--verify"});
    ASSERT_EQ(now["verified"], true);
    ASSERT_EQ(now["head_hash"], head["head_hash"]);
    if (fs::exists(dest)) {
      ++whole;
      EXPECT_EQ(testing::StoreCli(work.sub("r" + std::to_string(i))).ok({"restore", dest})["head_hash"], head["head_hash"]);
    } else {
      ++absent;
    }
    // A left-over partial is refused (no manifest yet), or, killed between its manifest and
    // its rename, is whole and restores to the same head.
    for (const auto& f : fs::directory_iterator(work.path())) {
      const std::string name = f.path().filename().string();
      if (name.rfind("b" + std::to_string(i) + ".partial-", 0) != 0) continue;
      const testing::CliResult restored =
          testing::StoreCli(work.sub("from-partial-" + std::to_string(i))).run({"restore", f.path().string()});
      if (restored.exit_code == 0) {
        EXPECT_EQ(json::parse(restored.out)["head_hash"], head["head_hash"]);
      } else {
        EXPECT_EQ(restored.exit_code, 4) << restored.err;
        EXPECT_NE(restored.err.find("not complete"), std::string::npos) << restored.err;
      }
      fs::remove_all(f.path());
    }
  }
  EXPECT_EQ(testing::StoreCli(work.sub("from-earlier")).ok({"restore", work.sub("earlier")})["head_hash"], head["head_hash"]);
  std::cout << "[ backup   ] 25 backups killed at random: " << whole << " finished whole, " << absent << " left nothing\n";
  EXPECT_GT(absent, 0) << "no kill landed during a backup";
}

}  // namespace
}  // namespace certsched
