#include "adapters/cli/commands.h"

namespace certsched::cli {

void configure_app(CLI::App& app, GlobalOptions& g, CommandRunner& run) {
  app.require_subcommand(1);
  app.footer(
      "Store: --store DIR, else $CERTSCHED_STORE, else ./certsched-store.\n"
      "Exit codes: 0 ok, 1 other failure, 2 usage, 3 refused (nothing changed), "
      "4 integrity failure.\n"
      "Example: certsched --store /var/lib/certsched init --admin-email pki@example.com");

  app.add_option("--store", g.store_dir, "store directory")->option_text("DIR");
  app.add_flag("--json", g.json, "print the result as one JSON document on stdout");
  app.add_option("--command-id", g.command_id,
                 "id that makes a retried command apply once (default: a fresh id)")
      ->option_text("ID");
  app.add_option("--server", g.server,
                 "send the command to a running `certsched serve` (token: $CERTSCHED_TOKEN or DIR/api-token)")
      ->option_text("URL");

  add_init_command(app, g, run);
  add_join_command(app, g, run);
  add_cert_commands(app, g, run);
  add_partner_commands(app, g, run);
  add_listener_commands(app, g, run);
  add_schedule_commands(app, g, run);
  add_scheduler_commands(app, g, run);
  add_replay_command(app, g, run);
  add_audit_command(app, g, run);
  add_report_command(app, g, run);
  add_options_commands(app, g, run);
  add_backup_commands(app, g, run);
  add_evidence_commands(app, g, run);
}

}  // namespace certsched::cli
