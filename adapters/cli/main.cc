// certsched: the command-line front end. The contract is shared/CLI.md.
#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <set>

#include "adapters/command_id.h"
#include "adapters/cli/cli_output.h"
#include "adapters/cli/commands.h"
#include "eventstore/store_writer.h"

namespace {

std::string current_user() {
  if (const char* u = std::getenv("USER"); u && *u) return u;
  if (const passwd* pw = getpwuid(getuid())) return pw->pw_name;
  return "uid" + std::to_string(getuid());
}

// CLI11 answers `certsched frobnicate` with "A subcommand is required". The word that is
// not a command, if there is one where a command was expected, says more.
std::string unknown_command(CLI::App& app, int argc, char** argv) {
  CLI::App* at = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind('-', 0) == 0) {
      const CLI::Option* o = at->get_option_no_throw(a);
      if (o && o->get_items_expected_min() > 0 && a.find('=') == std::string::npos) ++i;  // its value
      continue;
    }
    try {
      at = at->get_subcommand(a);
    } catch (const CLI::OptionNotFound&) {
      return at->get_require_subcommand_min() > 0 ? a : "";
    }
  }
  return "";
}

// The API of the serve on this host that holds the store, as its writer lock names it;
// empty if the store is free, or held by something else.
std::string local_serve_api(const std::string& store_dir) {
  auto holder = certsched::eventstore::store_writer(store_dir);
  if (!holder.ok() || !holder.value()) return "";
  const std::string& text = **holder;  // "pid N on HOST (certsched serve, API on URL, since ...)"
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  const std::string on = " on " + std::string(host) + " (";
  const size_t api = text.find("certsched serve, API on ");
  if (text.find(on) == std::string::npos || api == std::string::npos) return "";
  const size_t from = api + std::string("certsched serve, API on ").size();
  return text.substr(from, text.find_first_of(", )", from) - from);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace certsched::cli;
  CLI::App app{"certsched: schedules and activates B2B partner certificates, with an auditable log",
               "certsched"};
  GlobalOptions g;
  CommandRunner run;
  configure_app(app, g, run);
  app.set_version_flag("--version", std::string("certsched ") + CERTSCHED_VERSION);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (const std::string word = unknown_command(app, argc, argv); !word.empty()) {
      std::cerr << "certsched: '" << word << "' is not a command (see certsched --help)\n";
      return kExitUsage;
    }
    std::cerr << "certsched: " << e.what() << " (see certsched --help)\n";
    return kExitUsage;
  }

  if (g.store_dir.empty()) {
    const char* env = std::getenv("CERTSCHED_STORE");
    g.store_dir = env && *env ? env : "./certsched-store";
  }
  if (g.command_id.empty()) g.command_id = certsched::adapters::new_command_id();
  g.actor = "cli:" + current_user();
  std::string path;
  for (const CLI::App* sub = &app; !sub->get_subcommands().empty();) {
    sub = sub->get_subcommands().front();
    path += (path.empty() ? "" : " ") + sub->get_name();
  }
  // The write commands the HTTP API takes. When a serve on this host holds the store, they
  // go to it, as if --server named it: operators never stop serve to run them.
  static const std::set<std::string> kRemoteWrites = {"schedule propose", "schedule confirm",  "schedule decline",
                                                      "schedule cancel",  "schedule skip-email", "observe",
                                                      "options set",      "cert import",         "cert remove",
                                                      "partner add",      "partner update",      "partner remove",
                                                      "listener configure", "backup"};
  if (g.server.empty() && kRemoteWrites.count(path)) g.server = local_serve_api(g.store_dir);
  if (path == "tick") {
    auto holder = certsched::eventstore::store_writer(g.store_dir);
    if (holder.ok() && holder.value() && holder.value()->find("certsched serve") != std::string::npos) {
      return report_error(g, certsched::Status::Busy("store " + g.store_dir + " is held by " + **holder +
                                                     ", which already runs the scheduler: tick is not needed while "
                                                     "it runs"));
    }
  }
  if (!g.server.empty()) {
    // What the HTTP API serves can go through --server; the rest needs the store itself.
    static const std::set<std::string> kRemoteReads = {"cert list", "partner show", "partner list", "listener show",
                                                       "schedule list", "options show"};
    if (!kRemoteWrites.count(path) && !kRemoteReads.count(path)) {
      return report_error(g, certsched::Status::InvalidArgument(
                                 "`" + path + "` is not available through --server: run it on the store's host (stop serve first "
                                 "for commands that write)"));
    }
  }
  return run();
}
