// certsched evidence export OUT [--from --to] | evidence verify OUT [--key FILE]
#include "adapters/cli/commands.h"
#include "adapters/cli/session.h"
#include "adapters/evidence_pack.h"
#include "base/clock.h"
#include "domain/instant.h"

namespace certsched::cli {
namespace {

struct ExportArgs {
  std::string out, from, to;
};

int run_export(const GlobalOptions& g, const ExportArgs& a) {
  adapters::EvidencePeriod period;
  const int64_t now = base::now_ns();
  if (!a.from.empty()) {
    auto t = domain::parse_instant_or_now(a.from, now);
    if (!t.ok()) return fail(g, Status::InvalidArgument("--from: " + t.status().message()));
    period.from_ns = t.value();
  }
  if (!a.to.empty()) {
    auto t = domain::parse_instant_or_now(a.to, now);
    if (!t.ok()) return fail(g, Status::InvalidArgument("--to: " + t.status().message()));
    period.to_ns = t.value();
  }
  if (period.from_ns && period.to_ns && period.to_ns < period.from_ns) {
    return fail(g, Status::InvalidArgument("--to is before --from"));
  }
  // Read-only: an export works beside a running serve. The evidence key is made on first use.
  auto session = open_session(g, false, "");
  if (!session.ok()) return fail(g, session.status());
  auto r = adapters::export_evidence(*(*session)->store, g.store_dir, a.out, period, now);
  if (!r.ok()) return fail(g, r.status());
  print_result(g, adapters::to_json(r.value()),
               "Evidence pack written to " + r->out + "\n  position:  " + std::to_string(r->position) + "\n  head hash: " +
                   r->head_hash + "\n  key id:    " + r->key_id + "\n  open " + r->out + "/index.html to read it\n");
  return kExitOk;
}

int run_verify(const GlobalOptions& g, const std::string& out, const std::string& key_file) {
  std::string pinned;
  if (!key_file.empty()) {
    auto key = read_input_file(key_file, "public key");
    if (!key.ok()) return fail(g, key.status());
    pinned = std::move(key).value();
  }
  auto r = adapters::verify_evidence(out, pinned);
  if (!r.ok()) return fail(g, r.status());
  nlohmann::json j = adapters::to_json(r.value());
  j["verified"] = true;
  j["key_pinned"] = !pinned.empty();
  print_result(g, j,
               "Evidence pack " + out + " verifies: " + std::to_string(r->records) + " records, positions 1 to " +
                   std::to_string(r->position) + ", head hash " + r->head_hash + ", signed by key " + r->key_id +
                   (pinned.empty() ? " (the pack's own key: compare its id with `certsched options show`, or pin it with --key)"
                                   : " (pinned)") +
                   "\n");
  return kExitOk;
}

}  // namespace

void add_evidence_commands(CLI::App& app, GlobalOptions& g, CommandRunner& run) {
  CLI::App* evidence = app.add_subcommand("evidence", "the auditor's evidence pack: export it, verify it without a store");
  evidence->require_subcommand(1);
  auto a = std::make_shared<ExportArgs>();
  CLI::App* exp = evidence->add_subcommand("export", "write an evidence pack into a new directory");
  exp->footer("Example: certsched evidence export /tmp/evidence-2026 --from 2026-01-01T00:00:00Z --to 2027-01-01T00:00:00Z");
  exp->add_option("OUT", a->out, "a new directory for the pack")->required();
  exp->add_option("--from", a->from, "the readable report's period starts then (the log is always whole)")->option_text("INSTANT");
  exp->add_option("--to", a->to, "the period ends then (default: now)")->option_text("INSTANT");
  exp->callback([&g, &run, a] { run = [&g, a] { return run_export(g, *a); }; });

  auto out = std::make_shared<std::string>();
  auto key = std::make_shared<std::string>();
  CLI::App* ver = evidence->add_subcommand("verify", "check a pack offline; exit 4 naming the first alteration");
  ver->footer("Example: certsched evidence verify /media/usb/evidence-2026 --key pinned-evidence-key.pem");
  ver->add_option("OUT", *out, "the pack's directory")->required();
  ver->add_option("--key", *key, "the store's evidence public key (PEM), pinned beforehand")->option_text("FILE");
  ver->callback([&g, &run, out, key] { run = [&g, out, key] { return run_verify(g, *out, *key); }; });
}

}  // namespace certsched::cli
