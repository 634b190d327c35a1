// `backup` and `restore` as an operator runs them. A backup taken through a running serve
// while a client adds partners as fast as serve answers, at random moments, always restores
// to a store that verifies, whose last partner is one the client had added (a prefix of its
// additions), and whose projections equal a rebuild. A damaged backup is refused with exit
// 4 naming the file; a full disk leaves no backup that looks whole and the store untouched.
#include <sys/mount.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <iostream>
#include <filesystem>
#include <random>
#include <thread>

#include "tests/cert_factory.h"
#include "tests/cli_runner.h"
#include "tests/http_client.h"
#include "tests/test_support.h"

namespace certsched {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool mentions(const testing::CliResult& r, const std::string& text) { return r.err.find(text) != std::string::npos; }

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::CertFactory f(work_.path());
    sign_ = f.make(testing::CertSpec("sign-2027").password("pw"));
    testing::write_file(work_.sub("pw.txt"), "pw\n");
    cli_.ok({"init", "--admin-email", "pki@example.com"});
    cli_.ok({"cert", "import", "--alias", "sign-2027", "--cert", sign_.cert_pem, "--key", sign_.key_pem, "--password-file",
             work_.sub("pw.txt")});
    cli_.ok({"partner", "add", "--id", "acme", "--protocol", "AS2", "--email", "edi@acme.example", "--local-signing",
             "sign-2027"});
  }
  // `restore BACKUP` into the new store AT: its answer.
  json restore(const std::string& backup, const std::string& at) { return testing::StoreCli(at).ok({"restore", backup}); }
  std::vector<std::string> partner_ids(const std::string& store) {
    std::vector<std::string> ids;
    for (const auto& p : testing::StoreCli(store).ok({"partner", "list"})) ids.push_back(p["id"]);
    return ids;
  }

  testing::TempDir work_;
  testing::CertFiles sign_;
  testing::StoreCli cli_{work_.sub("store")};
};

TEST_F(BackupTest, BackupsTakenWhileServeAppendsRestoreToAnAcknowledgedPoint) {
  testing::ServeProcess serve = testing::start_serve(cli_.store(), work_.sub("serve.log"));
  ASSERT_TRUE(serve.ready);
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0};
  std::thread writer([&] {
    for (int i = 1; !stop; ++i) {
      const std::string id = "p" + std::to_string(10000 + i);  // sorts as it was added
      const testing::HttpReply r = testing::serve_call(
          serve, "POST", "/v1/partners", {{"id", id}, {"protocol", "AS2"}, {"email", "edi@" + id + ".example"}});
      if (r.status != 200) break;
      acknowledged = i;
    }
  });
  std::mt19937 rng(std::random_device{}());
  std::vector<std::pair<std::string, int>> backups;  // where, partners acknowledged before it began
  for (int n = 0; n < 5; ++n) {
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 300));
    const int before = acknowledged;
    const std::string dest = work_.sub("backup-" + std::to_string(n));
    const testing::CliResult r = cli_.run({"backup", dest});  // sent to serve, which holds the store
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(json::parse(r.out)["notice"].get<std::string>().find("store key and the API token were not copied"),
              std::string::npos);
    backups.push_back({dest, before});
  }
  stop = true;
  writer.join();
  const int total = acknowledged;
  EXPECT_EQ(testing::stop_serve(serve), 0);
  ASSERT_GT(total, 0);

  std::cout << "[ backups  ] the writer added " << total << " partners during 5 backups; each restored holds:";
  for (size_t n = 0; n < backups.size(); ++n) {
    SCOPED_TRACE(backups[n].first);
    const std::string restored = work_.sub("restored-" + std::to_string(n));
    const json r = restore(backups[n].first, restored);
    EXPECT_EQ(r["store_key"], false);
    // The partners are acme and a prefix p10001..p1000k of the writer's additions, k at
    // least what was acknowledged when the backup began.
    const std::vector<std::string> ids = partner_ids(restored);
    ASSERT_FALSE(ids.empty());
    const int k = static_cast<int>(ids.size()) - 1;
    std::cout << " " << k << (n + 1 == backups.size() ? "\n" : "");
    EXPECT_GE(k, backups[n].second);
    EXPECT_LE(k, total);
    EXPECT_EQ(ids[0], "acme");  // by id
    for (int i = 1; i <= k; ++i) EXPECT_EQ(ids[i], "p" + std::to_string(10000 + i));
    // Its head is the position of the k-th addition, and its hash the live store's there.
    const json then = cli_.ok({"replay", "--position", std::to_string(r["position"].get<uint64_t>())});
    EXPECT_EQ(then["partners"].size(), ids.size());
    const json verified = testing::StoreCli(restored).ok({"replay", "--verify"});
    EXPECT_EQ(verified["verified"], true);
    EXPECT_EQ(verified["deterministic"], true) << "projections differ from a rebuild";
    EXPECT_EQ(verified["head_hash"], r["head_hash"]);
  }
}

TEST_F(BackupTest, WithItsSecretsARestoredStoreUsesItsKeys) {
  const json b = cli_.ok({"backup", work_.sub("full"), "--with-secrets"});
  EXPECT_EQ(b["with_secrets"], true);
  EXPECT_EQ(b["sealed_keys"], 1);
  const json r = restore(work_.sub("full"), work_.sub("restored"));
  EXPECT_EQ(r["store_key"], true);
  // The sealed key opens: a proposal checks the key's password against it.
  testing::StoreCli(work_.sub("restored")).ok({"schedule", "propose", "--partners", "acme", "--role",
                                               "local-encryption=sign-2027", "--at", "now", "--password-file",
                                               work_.sub("pw.txt")});
  // Without them, the store key has to come back separately.
  cli_.ok({"backup", work_.sub("lean")});
  EXPECT_FALSE(fs::exists(work_.sub("lean/store.key")));
  EXPECT_FALSE(fs::exists(work_.sub("lean/api-token")));
  const testing::CliResult lean = testing::StoreCli(work_.sub("restored-lean")).run({"restore", work_.sub("lean")}, false);
  EXPECT_EQ(lean.exit_code, 0) << lean.err;
  EXPECT_TRUE(mentions(lean, "has no store key")) << lean.err;
  EXPECT_TRUE(fs::exists(work_.sub("restored-lean/api-token"))) << "a new token for the new store";
}

TEST_F(BackupTest, NothingIsOverwritten) {
  cli_.ok({"backup", work_.sub("b")});
  EXPECT_TRUE(mentions(cli_.refused({"backup", work_.sub("b")}), "exists"));
  EXPECT_TRUE(mentions(testing::StoreCli(cli_.store()).refused({"restore", work_.sub("b")}), "overwrites nothing"));
  EXPECT_TRUE(mentions(testing::StoreCli(work_.sub("new")).run({"restore", work_.sub("nothing")}), "no backup"));
}

TEST_F(BackupTest, ADamagedBackupIsRefusedNamingWhatIsWrong) {
  cli_.ok({"backup", work_.sub("good")});
  std::vector<std::string> tables;
  for (const auto& f : fs::recursive_directory_iterator(work_.sub("good/events"))) {
    if (f.path().extension() == ".sst") tables.push_back(fs::relative(f.path(), work_.sub("good")).string());
  }
  ASSERT_FALSE(tables.empty());
  struct Damage {
    std::string name;
    std::function<void(const std::string&)> apply;
    std::string named;
  };
  const std::vector<Damage> damages = {
      {"a flipped byte in a table", [&](const std::string& b) {
         std::string bytes = testing::read_file(b + "/" + tables[0]);
         bytes[bytes.size() / 2] ^= 0x01;
         testing::write_file(b + "/" + tables[0], bytes);
       }, tables[0] + " was altered"},
      {"a missing table", [&](const std::string& b) { fs::remove(b + "/" + tables[0]); }, tables[0] + " is missing"},
      {"a flipped byte in the manifest", [&](const std::string& b) {
         std::string bytes = testing::read_file(b + "/backup.json");
         bytes[bytes.find("\"position\"") + 13] ^= 0x01;
         testing::write_file(b + "/backup.json", bytes);
       }, "backup.json"},
      {"no manifest (an interrupted backup)", [&](const std::string& b) { fs::remove(b + "/backup.json"); }, "not complete"},
      {"a file slipped in", [&](const std::string& b) { testing::write_file(b + "/keys/extra.key", "x"); }, "keys/extra.key"},
  };
  for (size_t i = 0; i < damages.size(); ++i) {
    SCOPED_TRACE(damages[i].name);
    const std::string copy = work_.sub("damaged-" + std::to_string(i));
    fs::copy(work_.sub("good"), copy, fs::copy_options::recursive);
    damages[i].apply(copy);
    const std::string at = work_.sub("restored-" + std::to_string(i));
    const testing::CliResult r = testing::StoreCli(at).run({"restore", copy}, false);
    EXPECT_EQ(r.exit_code, 4) << r.err;
    EXPECT_TRUE(mentions(r, damages[i].named)) << r.err;
    EXPECT_FALSE(fs::exists(at)) << "a refused restore made a store";
  }
  EXPECT_EQ(restore(work_.sub("good"), work_.sub("restored-good"))["head_hash"], cli_.ok({"replay", "--verify"})["head_hash"]);
}

TEST_F(BackupTest, AFullDiskLeavesNoBackupAndTheStoreUntouched) {
  const std::string small = work_.sub("small-disk");
  fs::create_directories(small);
  if (mount("tmpfs", small.c_str(), "tmpfs", 0, "size=64k") != 0) GTEST_SKIP() << "cannot mount a tmpfs here (not root?)";
  struct Unmount {
    std::string dir;
    ~Unmount() { umount2(dir.c_str(), MNT_DETACH); }
  } unmount{small};
  const json before = cli_.ok({"replay", "--verify"});
  const testing::CliResult r = cli_.run({"backup", small + "/b"}, false);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(mentions(r, "space")) << r.err;
  EXPECT_TRUE(fs::is_empty(small)) << "a half backup was left behind";
  const json after = cli_.ok({"replay", "--verify"});
  EXPECT_EQ(after["head_hash"], before["head_hash"]);
  EXPECT_EQ(after["verified"], true);
}

}  // namespace
}  // namespace certsched
