// Runs the certsched binary as a user would and captures what it printed.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace certsched::testing {

struct CliResult {
  int exit_code = -1;  // 128 + the signal if it died of one
  std::string out;
  std::string err;
  bool killed = false;  // SIGKILLed by run_cli_killed_after before it finished
};

// Runs `certsched ARGS...` with extra environment variables (NAME=VALUE).
CliResult run_cli(const std::vector<std::string>& args,
                  const std::vector<std::string>& env = {});

// The same, but SIGKILLs the process if it is still running `kill_after_ms` after it started,
// as a crash would stop it: whatever it printed until then is returned.
CliResult run_cli_killed_after(const std::vector<std::string>& args, int kill_after_ms);

// Starts `certsched ARGS...` in the background (such as `serve`), its stdout and stderr
// written to `log_path` ("/dev/null" to drop them). Returns its pid; the caller stops it
// with SIGTERM and reaps it.
pid_t start_cli(const std::vector<std::string>& args, const std::string& log_path,
                const std::vector<std::string>& env = {});

// The certsched binary on one store, as the tests drive it: `run` any command (with --json
// unless told otherwise), `ok` one that must succeed (its --json answer), `refused` one that
// must fail with `code`, one line on stderr and the log unchanged.
class StoreCli {
 public:
  explicit StoreCli(std::string store) : store_(std::move(store)) {}
  const std::string& store() const { return store_; }
  std::vector<std::string> args_for(const std::vector<std::string>& args, bool json = true) const;
  CliResult run(const std::vector<std::string>& args, bool json = true, const std::vector<std::string>& env = {}) const;
  nlohmann::json ok(const std::vector<std::string>& args) const;
  CliResult refused(const std::vector<std::string>& args, int code = 3) const;

 private:
  std::string store_;
};

}  // namespace certsched::testing
