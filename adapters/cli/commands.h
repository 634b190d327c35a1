// Each CLI command registers its options on the parser and, when chosen, sets `run`.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

#include "adapters/cli/cli_output.h"

namespace certsched::cli {

using CommandRunner = std::function<int()>;

void add_init_command(CLI::App& app, GlobalOptions& g, CommandRunner& run);
void add_join_command(CLI::App& app, GlobalOptions& g, CommandRunner& run);
void add_replay_command(CLI::App& app, GlobalOptions& g, CommandRunner& run);
void add_cert_commands(CLI::App& app, GlobalOptions& g, CommandRunner& run);
void add_partner_commands(CLI::App& app, GlobalOptions& g, CommandRunner& run);
void add_listener_commands(CLI::App& app, GlobalOptions& g, CommandRunner& run);
void add_schedule_commands(CLI::App& app, GlobalOptions& g, CommandRunner& run);
void add_scheduler_commands(CLI::App& app, GlobalOptions& g, CommandRunner& run);
void add_audit_command(CLI::App& app, GlobalOptions& g, CommandRunner& run);
void add_report_command(CLI::App& app, GlobalOptions& g, CommandRunner& run);
void add_options_commands(CLI::App& app, GlobalOptions& g, CommandRunner& run);
void add_backup_commands(CLI::App& app, GlobalOptions& g, CommandRunner& run);
void add_evidence_commands(CLI::App& app, GlobalOptions& g, CommandRunner& run);

// "30,14,7" as days; InvalidArgument naming `option` otherwise.
Result<std::vector<uint32_t>> parse_days(const std::string& text, const std::string& option);

// Every global option and command, as `certsched` parses them. Parsing only sets `g` and
// `run`; nothing happens until `run` is called.
void configure_app(CLI::App& app, GlobalOptions& g, CommandRunner& run);

}  // namespace certsched::cli
