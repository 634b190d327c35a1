// Runs the certsched binary as a user would and captures what it printed.
#pragma once

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

}  // namespace certsched::testing
