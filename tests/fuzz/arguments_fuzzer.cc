// Argument and time parsing: the input's lines are a command line, parsed exactly as
// `certsched` parses its own (every command and option, with their validators); each line
// is also read as an instant, a role, a protocol and a listener name. Nothing is run.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "adapters/cli/commands.h"
#include "domain/instant.h"
#include "domain/roles.h"

using namespace certsched;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args{"certsched"};
  for (size_t start = 0; start <= input.size() && args.size() < 64;) {
    const size_t end = std::min(input.find('\n', start), input.size());
    args.push_back(input.substr(start, end - start));
    start = end + 1;
  }
  for (const auto& a : args) {
    (void)domain::parse_instant(a);
    (void)domain::parse_role(a);
    (void)domain::parse_protocol(a);
    (void)domain::parse_listener(a);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  CLI::App app{"certsched", "certsched"};
  cli::GlobalOptions g;
  cli::CommandRunner run;
  cli::configure_app(app, g, run);
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError&) {
    // What `certsched` reports as a usage error (exit 2); anything else escaping is a bug.
  }
  return 0;
}
