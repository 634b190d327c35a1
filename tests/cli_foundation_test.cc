// The CLI as users and scripts see it: init, replay, --verify, exit codes, JSON shapes,
// and the single-writer rule.
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "tests/cli_runner.h"
#include "tests/test_support.h"

extern char** environ;

namespace certsched {
namespace {

using testing::run_cli;
using testing::TempDir;
using json = nlohmann::json;

int file_mode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  return st.st_mode & 0777;
}

json verify_json(const std::string& store) {
  auto r = run_cli({"--store", store, "--json", "replay", "--verify"});
  return json::parse(r.out);
}

TEST(CliFoundationTest, VersionAndHelp) {
  auto v = run_cli({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("certsched "), std::string::npos);
  auto h = run_cli({"--help"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("init"), std::string::npos);
  EXPECT_NE(h.out.find("replay"), std::string::npos);
  auto ih = run_cli({"init", "--help"});
  EXPECT_EQ(ih.exit_code, 0);
  EXPECT_NE(ih.out.find("Example:"), std::string::npos);
}

TEST(CliFoundationTest, UsageErrorsExitTwo) {
  TempDir dir;
  EXPECT_EQ(run_cli({"--store", dir.sub("s"), "frobnicate"}).exit_code, 2);
  auto missing = run_cli({"--store", dir.sub("s"), "init"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("--admin-email"), std::string::npos) << missing.err;
  EXPECT_FALSE(std::filesystem::exists(dir.sub("s")));
}

TEST(CliFoundationTest, InitCreatesTheStoreWithPrivateSecretsAndRecordsTheOptions) {
  TempDir dir;
  const std::string store = dir.sub("store");
  auto r = run_cli({"--store", store, "--json", "init", "--admin-email", "pki@example.com",
                    "--smtp", "smtp://127.0.0.1:2525", "--mail-from", "certsched@example.com"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["admin_email"], "pki@example.com");
  EXPECT_EQ(j["smtp"], "smtp://127.0.0.1:2525");
  EXPECT_EQ(j["position"], 1);
  EXPECT_EQ(file_mode(store + "/store.key"), 0600);
  EXPECT_EQ(file_mode(store + "/api-token"), 0600);

  auto listed = run_cli({"--store", store, "--json", "replay", "--events"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  json events = json::parse(listed.out);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["type"], "SystemInitialized");
  EXPECT_EQ(events[0]["stream"], "system");
  EXPECT_EQ(events[0]["actor"].get<std::string>().rfind("cli:", 0), 0u);

  // The store key and token are secrets: they never reach the log.
  std::string key;
  {
    std::FILE* f = std::fopen((store + "/store.key").c_str(), "r");
    char buf[128] = {};
    ASSERT_NE(std::fgets(buf, sizeof buf, f), nullptr);
    std::fclose(f);
    key = std::string(buf).substr(0, 64);
  }
  EXPECT_EQ(listed.out.find(key), std::string::npos);
}

TEST(CliFoundationTest, StoreComesFromTheEnvironmentWhenNotGiven) {
  TempDir dir;
  const std::string store = dir.sub("from-env");
  auto r = run_cli({"init", "--admin-email", "a@example.com"}, {"CERTSCHED_STORE=" + store});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(store + "/store.key"));
}

TEST(CliFoundationTest, RefusedInitChangesNothing) {
  TempDir dir;
  const std::string store = dir.sub("store");
  ASSERT_EQ(run_cli({"--store", store, "init", "--admin-email", "a@example.com"}).exit_code, 0);
  const json before = verify_json(store);

  auto again = run_cli({"--store", store, "--json", "init", "--admin-email", "b@example.com"});
  EXPECT_EQ(again.exit_code, 3);
  EXPECT_NE(again.err.find("already initialised"), std::string::npos) << again.err;
  json err = json::parse(again.out);
  EXPECT_EQ(err["error"]["code"], "conflict");
  EXPECT_FALSE(err["error"]["message"].get<std::string>().empty());
  EXPECT_EQ(verify_json(store), before);

  auto bad_email = run_cli({"--store", dir.sub("other"), "init", "--admin-email", "not-an-email"});
  EXPECT_EQ(bad_email.exit_code, 3);
  EXPECT_NE(bad_email.err.find("not-an-email"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.sub("other")));

  auto bad_smtp = run_cli({"--store", dir.sub("other"), "init", "--admin-email", "a@example.com",
                           "--smtp", "http://mail"});
  EXPECT_EQ(bad_smtp.exit_code, 3);
  EXPECT_NE(bad_smtp.err.find("smtp://"), std::string::npos);
}

TEST(CliFoundationTest, MissingStoreIsAClearError) {
  TempDir dir;
  auto r = run_cli({"--store", dir.sub("none"), "replay", "--verify"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("certsched init"), std::string::npos) << r.err;
}

TEST(CliFoundationTest, VerifyNamesTheFirstBadPositionWithExitFour) {
  TempDir dir;
  const std::string store = dir.sub("store");
  ASSERT_EQ(run_cli({"--store", store, "init", "--admin-email", "a@example.com"}).exit_code, 0);
  json ok = verify_json(store);
  EXPECT_EQ(ok["verified"], true);
  EXPECT_EQ(ok["events"], 1);
  EXPECT_TRUE(ok["first_bad_position"].is_null());
  EXPECT_EQ(ok["head_hash"].get<std::string>().size(), 64u);
  {
    testing::RawStore raw(store);
    std::string v = raw.get_log(1);
    v[v.size() / 2] = static_cast<char>(v[v.size() / 2] ^ 0x04);
    raw.put_log(1, v);
  }
  auto bad = run_cli({"--store", store, "--json", "replay", "--verify"});
  EXPECT_EQ(bad.exit_code, 4);
  json j = json::parse(bad.out);
  EXPECT_EQ(j["verified"], false);
  EXPECT_EQ(j["first_bad_position"], 1);
  EXPECT_NE(bad.err.find("position 1"), std::string::npos) << bad.err;
}

TEST(CliFoundationTest, SecondWriterIsToldTheHolderWhileReadersCarryOn) {
  TempDir dir;
  const std::string store = dir.sub("store");
  ASSERT_EQ(run_cli({"--store", store, "init", "--admin-email", "a@example.com"}).exit_code, 0);

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  const char* argv[] = {CRASH_CHILD_PATH, "hold", store.c_str(), nullptr};
  pid_t holder;
  ASSERT_EQ(posix_spawn(&holder, CRASH_CHILD_PATH, &actions, nullptr, const_cast<char**>(argv),
                        environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  char ready[16] = {};
  ASSERT_GT(read(fds[0], ready, sizeof ready), 0);

  auto second = run_cli({"--store", store, "init", "--admin-email", "b@example.com"});
  EXPECT_EQ(second.exit_code, 3);
  EXPECT_NE(second.err.find("pid " + std::to_string(holder)), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("crash_child hold"), std::string::npos) << second.err;

  auto reader = run_cli({"--store", store, "replay", "--verify"});
  EXPECT_EQ(reader.exit_code, 0) << reader.err;
  EXPECT_NE(reader.out.find("Verified 1 events"), std::string::npos) << reader.out;

  kill(holder, SIGKILL);
  waitpid(holder, nullptr, 0);
  close(fds[0]);
}

}  // namespace
}  // namespace certsched
