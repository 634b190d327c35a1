#include "tests/cli_runner.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

extern char** environ;

namespace certsched::testing {

namespace {

// This process's environment with `extra` (NAME=VALUE) added, as posix_spawn takes it. A
// NAME given in `extra` replaces the inherited one (getenv would find the inherited first).
class Environment {
 public:
  explicit Environment(const std::vector<std::string>& extra) {
    for (char** e = environ; *e; ++e) {
      const std::string entry(*e);
      const std::string name = entry.substr(0, entry.find('=') + 1);
      const bool replaced = std::any_of(extra.begin(), extra.end(), [&](const std::string& x) { return x.rfind(name, 0) == 0; });
      if (!replaced) strings_.push_back(entry);
    }
    strings_.insert(strings_.end(), extra.begin(), extra.end());
    for (auto& e : strings_) pointers_.push_back(e.data());
    pointers_.push_back(nullptr);
  }
  char* const* envp() { return pointers_.data(); }

 private:
  std::vector<std::string> strings_;
  std::vector<char*> pointers_;
};

// kill_after_ms < 0: wait for the process however long it takes.
CliResult run(const std::vector<std::string>& args, const std::vector<std::string>& env, int kill_after_ms) {
  int out_pipe[2], err_pipe[2];
  if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0) throw std::runtime_error("pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
  posix_spawn_file_actions_addclose(&actions, err_pipe[0]);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);

  std::vector<std::string> all_args{CERTSCHED_BINARY};
  all_args.insert(all_args.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all_args) argv.push_back(a.data());
  argv.push_back(nullptr);
  Environment environment(env);

  pid_t pid;
  if (posix_spawn(&pid, CERTSCHED_BINARY, &actions, nullptr, argv.data(), environment.envp()) != 0) {
    throw std::runtime_error("cannot run " CERTSCHED_BINARY);
  }
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);

  CliResult r;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_count = 2;
  char buf[4096];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kill_after_ms);
  while (open_count > 0) {
    int timeout_ms = -1;
    if (kill_after_ms >= 0 && !r.killed) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        kill(pid, SIGKILL);
        r.killed = true;
      } else {
        timeout_ms = static_cast<int>(left.count());
      }
    }
    if (poll(fds, 2, timeout_ms) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP))) {
        ssize_t n = read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) {
          close(fds[i].fd);
          fds[i].fd = -1;
          --open_count;
        } else {
          sinks[i]->append(buf, static_cast<size_t>(n));
        }
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  // It may have finished by itself just as the deadline came.
  r.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  return r;
}

}  // namespace

CliResult run_cli(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  return run(args, env, -1);
}

CliResult run_cli_killed_after(const std::vector<std::string>& args, int kill_after_ms) {
  return run(args, {}, kill_after_ms);
}

pid_t start_cli(const std::vector<std::string>& args, const std::string& log_path, const std::vector<std::string>& env) {
  Environment environment(env);
  std::vector<std::string> all_args{CERTSCHED_BINARY};
  all_args.insert(all_args.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all_args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, CERTSCHED_BINARY, &actions, nullptr, argv.data(), environment.envp());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) throw std::runtime_error("cannot run " CERTSCHED_BINARY);
  return pid;
}

std::vector<std::string> StoreCli::args_for(const std::vector<std::string>& args, bool json) const {
  std::vector<std::string> all{"--store", store_};
  if (json) all.push_back("--json");
  all.insert(all.end(), args.begin(), args.end());
  return all;
}

CliResult StoreCli::run(const std::vector<std::string>& args, bool json, const std::vector<std::string>& env) const {
  return run_cli(args_for(args, json), env);
}

nlohmann::json StoreCli::ok(const std::vector<std::string>& args) const {
  const CliResult r = run(args);
  std::string command;
  for (size_t i = 0; i < args.size() && i < 2; ++i) command += args[i] + " ";
  EXPECT_EQ(r.exit_code, 0) << command << ": " << r.err;
  return r.out.empty() ? nlohmann::json() : nlohmann::json::parse(r.out, nullptr, false);
}

CliResult StoreCli::refused(const std::vector<std::string>& args, int code) const {
  const nlohmann::json before = ok({"replay", "--verify"});
  const CliResult r = run(args);
  EXPECT_EQ(r.exit_code, code) << r.err;
  if (code == 3) {
    const nlohmann::json err = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(err.value("/error/code"_json_pointer, std::string()).empty()) << r.out;
    EXPECT_FALSE(err.value("/error/message"_json_pointer, std::string()).empty()) << r.out;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line on stderr: " << r.err;
  }
  const nlohmann::json after = ok({"replay", "--verify"});
  EXPECT_EQ(after.value("events", 0), before.value("events", 0)) << "a refused command appended";
  EXPECT_EQ(after.value("head_hash", ""), before.value("head_hash", "")) << "a refused command changed the log";
  EXPECT_EQ(after.value("deterministic", true), true) << "the projections no longer match the log";
  return r;
}

}  // namespace certsched::testing
