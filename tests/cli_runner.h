// Runs the certsched binary as a user would and captures what it printed.
#pragma once

#include <sys/types.h>

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
pid_t start_cli(const std::vector<std::string>& args, const std::string& log_path);

}  // namespace certsched::testing
