// certsched audit [--partner ID] [--proposal ID] [--cert ALIAS]: the trail, in order.
#include <sstream>

#include "adapters/cli/commands.h"
#include "domain/instant.h"
#include "replay/audit_trail.h"

namespace certsched::cli {
namespace {

int run_audit(const GlobalOptions& g, const replay::AuditFilter& f) {
  eventstore::StoreOptions options;
  options.mode = eventstore::OpenMode::kReadOnly;
  auto store = eventstore::open_store(g.store_dir, options);
  if (!store.ok()) return report_error(g, store.status());
  auto trail = replay::audit_trail(**store, f);
  if (!trail.ok()) return report_error(g, trail.status());
  nlohmann::json all = nlohmann::json::array();
  std::ostringstream t;
  for (const auto& a : trail.value()) {
    all.push_back(replay::to_json(a));
    t << domain::format_instant(a.time_ns) << "  #" << a.position << "  " << a.actor << "  " << a.stream << "\n    "
      << a.what << (a.state.empty() ? "" : "  ->  " + a.state) << "\n";
  }
  print_result(g, all, t.str().empty() ? "No events.\n" : t.str());
  return kExitOk;
}

}  // namespace

void add_audit_command(CLI::App& app, GlobalOptions& g, CommandRunner& run) {
  auto f = std::make_shared<replay::AuditFilter>();
  CLI::App* audit = app.add_subcommand("audit", "the audit trail of a partner, a proposal or a certificate");
  audit->footer("Example: certsched audit --partner acme");
  audit->add_option("--partner", f->partner)->option_text("ID");
  audit->add_option("--proposal", f->proposal)->option_text("ID");
  audit->add_option("--cert", f->cert)->option_text("ALIAS");
  audit->callback([&g, &run, f] { run = [&g, f] { return run_audit(g, *f); }; });
}

}  // namespace certsched::cli
