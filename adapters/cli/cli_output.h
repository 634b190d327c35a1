// What every CLI command shares: the global options, how results and errors are printed,
// and how a Status maps to CLI.md's exit codes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "domain/engine.h"
#include "base/status.h"

namespace certsched::cli {

// CLI.md exit codes.
enum ExitCode : int {
  kExitOk = 0,
  kExitOther = 1,
  kExitUsage = 2,
  kExitRefused = 3,    // bad input, invalid transition, conflict: nothing was changed
  kExitIntegrity = 4,  // corrupt or altered store
};

struct GlobalOptions {
  std::string store_dir;   // resolved: --store, else $CERTSCHED_STORE, else ./certsched-store
  bool json = false;
  std::string command_id;  // --command-id, else a fresh random id per invocation
  std::string actor;       // "cli:<user>"
  std::string server;      // --server URL: send the command to a running `certsched serve`
};

int exit_code_for(const Status& status);

// Prints the error as one line on stderr (and, with --json, as {"error": ...} on stdout);
// returns its exit code.
int report_error(const GlobalOptions& g, const Status& status);

// Prints a result: the JSON document with --json, else `text`.
void print_result(const GlobalOptions& g, const nlohmann::json& json, const std::string& text);

// The command context for the engine: command id, actor and the system clock.
domain::CommandContext context(const GlobalOptions& g);

}  // namespace certsched::cli
