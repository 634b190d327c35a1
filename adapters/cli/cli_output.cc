#include "adapters/cli/cli_output.h"
#include "adapters/remedies.h"
#include "base/clock.h"
#include "projections/json_text.h"

#include <chrono>
#include <ctime>
#include <iostream>

namespace certsched::cli {

int exit_code_for(const Status& status) {
  switch (status.code()) {
    case Status::Code::kOk: return kExitOk;
    case Status::Code::kInvalidArgument:
    case Status::Code::kNotFound:
    case Status::Code::kConflict:
    case Status::Code::kBusy: return kExitRefused;
    case Status::Code::kCorruption: return kExitIntegrity;
    case Status::Code::kIOError: return kExitOther;
  }
  return kExitOther;
}

int report_error(const GlobalOptions& g, const Status& status) {
  const std::string message = adapters::with_remedies(status.message(), adapters::FrontEnd::kCli);
  std::cerr << "certsched: " << message << "\n";
  if (g.json) {
    nlohmann::json j = {{"error", {{"code", status.code_name()}, {"message", message}}}};
    std::cout << json_text(j) << "\n";
  }
  return exit_code_for(status);
}

void print_result(const GlobalOptions& g, const nlohmann::json& json, const std::string& text) {
  if (g.json) {
    std::cout << json_text(json, 2) << "\n";
  } else {
    std::cout << text;
  }
}

domain::CommandContext context(const GlobalOptions& g) {
  return {g.command_id, g.actor, base::now_ns()};
}

}  // namespace certsched::cli
