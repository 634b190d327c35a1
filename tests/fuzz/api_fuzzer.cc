// API request bodies (and targets): the input's first line is "METHOD TARGET", the rest is
// the body, handed to the API's router exactly as `serve` hands it an authenticated request.
// The store behind it is real: initialised, with certificates and a partner, so that
// proposals, confirms and observations can get past their checks.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "adapters/command_id.h"
#include "adapters/cli/commands.h"
#include "adapters/cli/session.h"
#include "adapters/http/api_routes.h"

using namespace certsched;

namespace {

// Never destroyed: at exit, RocksDB's own statics may already be gone, and closing the store
// after them aborts. The process is ending; the kernel releases the store.
cli::Session* session = nullptr;
std::string store_dir;

void run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), {"certsched", "--store", store_dir});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  CLI::App app{"certsched", "certsched"};
  cli::GlobalOptions g;
  cli::CommandRunner run;
  cli::configure_app(app, g, run);
  app.parse(static_cast<int>(argv.size()), argv.data());
  g.command_id = adapters::new_command_id();
  g.actor = "fuzz";
  if (run() != 0) throw std::runtime_error("api_fuzzer setup failed: " + args[3]);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Under $TMPDIR, which scripts/fuzz.sh points into build-fuzz/ and empties each run.
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/certsched-api-fuzz-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("api_fuzzer: cannot create a directory under " + tmpl);
  store_dir = tmpl + "/store";
  const std::string f = CERTSCHED_FUZZ_FIXTURES;
  const std::string pw = store_dir + "-pw";
  FILE* p = std::fopen(pw.c_str(), "w");
  std::fputs("pw\n", p);
  std::fclose(p);
  run_cli({"init", "--admin-email", "pki@example.com"});
  run_cli({"cert", "import", "--alias", "sign-old", "--cert", f + "/ours-rsa.pem", "--key", f + "/ours-rsa.key", "--password-file", pw});
  run_cli({"cert", "import", "--alias", "sign-new", "--cert", f + "/ours.pem", "--key", f + "/ours.key", "--password-file", pw});
  run_cli({"cert", "import", "--alias", "psign", "--cert", f + "/partner.pem", "--partner-cert"});
  run_cli({"partner", "add", "--id", "acme", "--protocol", "AS2", "--email", "edi@acme.example", "--local-signing", "sign-old",
           "--local-encryption", "sign-old", "--partner-signing", "psign"});
  cli::GlobalOptions g;
  g.store_dir = store_dir;
  g.command_id = adapters::new_command_id();
  g.actor = "fuzz";
  auto s = cli::open_session(g, true, "api_fuzzer");
  if (!s.ok()) throw std::runtime_error(s.status().message());
  session = std::move(s).value().release();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t eol = std::min(input.find('\n'), input.size());
  const std::string line = input.substr(0, eol);
  const size_t space = line.find(' ');
  if (space == std::string::npos) return 0;
  http::ApiRequest request{line.substr(0, space), line.substr(space + 1), "", "127.0.0.1",
                           eol < input.size() ? input.substr(eol + 1) : ""};
  http::ApiContext context{store_dir, session->store.get(),
                           [](const std::function<void(domain::Engine&)>& work) { work(*session->engine); }};
  const http::ApiReply reply = http::route_request(request, context);
  // An exception escaping the API code is a bug (route_request turns it into "internal").
  if (reply.body.find("\"code\":\"internal\"") != std::string::npos) {
    std::fprintf(stderr, "%s %s: %s\n", request.method.c_str(), request.target.c_str(), reply.body.c_str());
    std::abort();
  }
  return 0;
}
