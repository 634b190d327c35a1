// certsched report inventory|expiring|history|blockers [--within DAYS] [--from] [--to] [--format]
#include <iostream>

#include "adapters/cli/commands.h"
#include "adapters/cli/session.h"
#include "domain/instant.h"
#include "replay/reports.h"

namespace certsched::cli {
namespace {

struct ReportArgs {
  std::string name, from, to, format = "table";
  int within = 30;
};

int run_report(const GlobalOptions& g, const ReportArgs& a) {
  replay::ReportOptions o;
  o.now_ns = context(g).now_ns;
  o.within_days = a.within;
  if (a.within < 0) return fail(g, Status::InvalidArgument("--within must be 0 or more days"));
  for (auto [option, text, out] : {std::tuple{"--from", &a.from, &o.from_ns}, std::tuple{"--to", &a.to, &o.to_ns}}) {
    if (text->empty()) continue;
    auto t = domain::parse_instant_or_now(*text, o.now_ns);
    if (!t.ok()) return fail(g, Status::InvalidArgument(std::string(option) + ": " + t.status().message()));
    *out = t.value();
  }
  const std::string format = g.json ? "json" : a.format;
  if (format != "table" && format != "csv" && format != "json") {
    return fail(g, Status::InvalidArgument("--format must be table, csv or json"));
  }
  auto session = open_session(g, false, "");
  if (!session.ok()) return fail(g, session.status());
  auto table = replay::build_report(a.name, (*session)->state(), o);
  if (!table.ok()) return fail(g, table.status());
  std::cout << (format == "csv" ? replay::format_csv(*table) : format == "json" ? replay::format_json(*table)
                                                                                  : replay::format_table(*table));
  return kExitOk;
}

}  // namespace

void add_report_command(CLI::App& app, GlobalOptions& g, CommandRunner& run) {
  auto a = std::make_shared<ReportArgs>();
  CLI::App* report = app.add_subcommand("report", "compliance reports: inventory, expiring, history, blockers");
  report->footer("Examples:\n  certsched report expiring --within 60 --format csv > expiring.csv\n"
                 "  certsched report history --from 2026-01-01T00:00:00Z --to 2026-12-31T23:59:59Z");
  report->add_option("REPORT", a->name, "inventory|expiring|history|blockers")->required();
  report->add_option("--within", a->within, "expiring: days ahead (default 30)")->option_text("DAYS");
  report->add_option("--from", a->from, "history: from this instant")->option_text("INSTANT");
  report->add_option("--to", a->to, "history: until this instant")->option_text("INSTANT");
  report->add_option("--format", a->format, "table (default), csv or json")->option_text("FORMAT");
  report->callback([&g, &run, a] { run = [&g, a] { return run_report(g, *a); }; });
}

}  // namespace certsched::cli
