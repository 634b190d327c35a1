// Runs the certsched binary as a user would and captures what it printed.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace certsched::testing {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `certsched ARGS...` with extra environment variables (NAME=VALUE).
CliResult run_cli(const std::vector<std::string>& args,
                  const std::vector<std::string>& env = {});

}  // namespace certsched::testing
