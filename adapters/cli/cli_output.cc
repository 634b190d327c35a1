#include "adapters/cli/cli_output.h"
#include "base/clock.h"
#include "projections/json_text.h"

#include <openssl/rand.h>

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
  std::cerr << "certsched: " << status.message() << "\n";
  if (g.json) {
    nlohmann::json j = {{"error", {{"code", status.code_name()}, {"message", status.message()}}}};
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

std::string new_command_id() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    // Without randomness an id could repeat and silently skip a command; stop instead.
    std::cerr << "certsched: the system random generator failed\n";
    std::exit(kExitOther);
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // UUID version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kDigits[b[i] >> 4]);
    s.push_back(kDigits[b[i] & 0xF]);
  }
  return s;
}

domain::CommandContext context(const GlobalOptions& g) {
  return {g.command_id, g.actor, base::now_ns()};
}

}  // namespace certsched::cli
