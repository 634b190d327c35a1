// Kills a durably appending process with SIGKILL at random moments, over and over, and
// checks after each kill that every acknowledged append survived and the log is whole.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>

#include "tests/test_support.h"

extern char** environ;

namespace certsched {
namespace {

struct Ack {
  std::string stream;
  uint64_t version;
  uint64_t position;
};

// Runs crash_child, kills it `run_ms` after it reports its store open (or, with
// `during_open`, that long after it starts), and returns every ack it printed.
std::vector<Ack> run_and_kill(const std::string& store, int threads, int run_ms, bool during_open) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  const std::string thread_arg = std::to_string(threads);
  const char* argv[] = {CRASH_CHILD_PATH, "append", store.c_str(), thread_arg.c_str(), nullptr};
  pid_t pid;
  if (posix_spawn(&pid, CRASH_CHILD_PATH, &actions, nullptr, const_cast<char**>(argv), environ) != 0) {
    throw std::runtime_error("spawn crash_child");
  }
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);

  std::string out;
  char buf[4096];
  auto read_until = [&](std::chrono::steady_clock::time_point deadline, bool stop_when_ready) {
    while (std::chrono::steady_clock::now() < deadline) {
      if (stop_when_ready && out.find("ready\n") != std::string::npos) return;
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, 5) > 0) {
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n <= 0) return;
        out.append(buf, static_cast<size_t>(n));
      }
    }
  };
  if (!during_open) read_until(std::chrono::steady_clock::now() + std::chrono::seconds(60), true);
  read_until(std::chrono::steady_clock::now() + std::chrono::milliseconds(run_ms), false);
  kill(pid, SIGKILL);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  if (!(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)) {
    throw std::runtime_error("crash_child exited by itself with status " + std::to_string(wstatus));
  }

  std::vector<Ack> acks;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string word;
    Ack a;
    if (fields >> word >> a.stream >> a.version >> a.position && word == "ack") acks.push_back(a);
  }
  return acks;
}

TEST(CrashTest, AcknowledgedAppendsSurviveSigkill) {
  const char* env = std::getenv("CERTSCHED_CRASH_CYCLES");
  const int cycles = env ? std::atoi(env) : 50;
  testing::TempDir dir;
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> run_ms(5, 200);
  std::uniform_int_distribution<int> one_in_ten(0, 9);
  std::map<std::string, uint64_t> acked_version;
  uint64_t total_acks = 0;

  for (int cycle = 0; cycle < cycles; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    // Most kills land while appends are in flight; one in ten while the store is opening.
    const bool during_open = cycle > 0 && one_in_ten(rng) == 0;
    const std::vector<Ack> acks = run_and_kill(dir.path(), 4, run_ms(rng), during_open);
    total_acks += acks.size();

    auto store = testing::open_writer(dir.path());
    auto report = store->verify();
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    ASSERT_TRUE(report->verified) << "position " << report->first_bad_position.value_or(0)
                                  << ": " << report->problem;

    for (const Ack& a : acks) {
      auto got = store->read_stream(a.stream, a.version, 1);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      ASSERT_EQ(got->size(), 1u) << "acknowledged " << a.stream << " v" << a.version << " lost";
      EXPECT_EQ((*got)[0].position, a.position);
      acked_version[a.stream] = std::max(acked_version[a.stream], a.version);
    }

    // No gap, and each stream's version equals the events it holds.
    uint64_t events_in_streams = 0;
    for (int t = 0; t < 4; ++t) {
      const std::string stream = "writer-" + std::to_string(t);
      const uint64_t version = store->stream_version(stream).value();
      EXPECT_GE(version, acked_version[stream]);
      auto all = store->read_stream(stream, 1, 1'000'000);
      ASSERT_TRUE(all.ok());
      EXPECT_EQ(all->size(), version);
      events_in_streams += version;
    }
    const uint64_t shared = store->stream_version("shared").value();
    EXPECT_EQ(store->read_stream("shared", 1, 1'000'000)->size(), shared);
    events_in_streams += shared;
    EXPECT_EQ(store->head()->position, events_in_streams);
    EXPECT_EQ(report->events, events_in_streams);
  }
  std::cout << "[ crash    ] " << cycles << " SIGKILL cycles, " << total_acks
            << " acknowledged appends, none lost\n";
  EXPECT_GT(total_acks, 0u);
}

}  // namespace
}  // namespace certsched
