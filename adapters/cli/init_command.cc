// certsched init: creates the store, its store key and API token, and records the system
// options as the first event.
#include <unistd.h>

#include <filesystem>

#include "adapters/cli/commands.h"
#include "adapters/cluster_node.h"
#include "adapters/evidence_key.h"
#include "adapters/secret_files.h"
#include "domain/engine.h"

namespace certsched::cli {
namespace {

struct InitArgs {
  std::string admin_email;
  std::string smtp_url;
  std::string mail_from;
  std::string expiry_alert_days;
  std::string backend;  // a PostgreSQL URI for a clustered store; empty for the embedded one
};

// A clustered store's first node: refused when DIR already holds a store of its own, or
// names another database.
Status check_clustered_dir(const std::string& dir, const std::string& uri) {
  std::error_code ec;
  if (std::filesystem::exists(dir + "/events", ec)) {
    return Status::Conflict("store " + dir + " already holds an embedded store; use another --store DIR");
  }
  CERTSCHED_ASSIGN_OR_RETURN(auto named, eventstore::backend_uri(dir));
  if (named && *named != uri) {
    return Status::Conflict("store " + dir + " is a node of the store at " + *named + "; use another --store DIR");
  }
  return Status::Ok();
}

// Sets *secrets_written once anything secret has been written: from then on DIR is kept
// whatever happens, since the store key it holds may already seal what the log refers to.
int init_store(const GlobalOptions& g, const InitArgs& a, bool* secrets_written) {
  // Refuse bad options before anything is created on disk.
  if (a.admin_email.find('@') == std::string::npos) {
    return report_error(g, Status::InvalidArgument("--admin-email '" + a.admin_email +
                                                   "' is not an email address (like pki@example.com)"));
  }
  std::vector<uint32_t> days;
  if (!a.expiry_alert_days.empty()) {
    auto parsed = parse_days(a.expiry_alert_days, "--expiry-alert-days");
    if (!parsed.ok()) return report_error(g, parsed.status());
    days = parsed.value();
  }
  eventstore::StoreOptions options;
  options.create_if_missing = true;
  options.holder = "certsched init";
  if (!a.backend.empty()) {
    if (Status st = check_clustered_dir(g.store_dir, a.backend); !st.ok()) return report_error(g, st);
  }
  auto store = a.backend.empty() ? eventstore::open_rocksdb_store(g.store_dir, options)
                                 : eventstore::open_postgres_store(a.backend, g.store_dir, options);
  if (!store.ok()) return report_error(g, store.status());

  auto engine = domain::Engine::open(**store, g.store_dir);
  if (!engine.ok()) return report_error(g, engine.status());
  auto state = (*engine)->state();
  if (!state.ok()) return report_error(g, state.status());
  if (state.value()->initialized()) {
    if (!a.backend.empty()) {
      return report_error(g, Status::Conflict("the database at " + a.backend +
                                              " already holds a store; make another node of it with `certsched "
                                              "--store DIR join --backend URI --store-key FIRST_NODE/store.key`"));
    }
    return report_error(g, Status::Conflict("store " + g.store_dir +
                                            " is already initialised; use another --store DIR"));
  }

  // Secrets first: an init that dies here leaves no system event and can simply be rerun.
  *secrets_written = true;
  for (const char* name : {"store.key", "api-token"}) {
    if (Status st = adapters::write_random_secret(g.store_dir + "/" + name, 32); !st.ok()) {
      return report_error(g, st);
    }
  }

  if (Status st = adapters::ensure_evidence_key(g.store_dir); !st.ok()) return report_error(g, st);
  if (!a.backend.empty()) {
    Status st = adapters::share_node_secrets(g.store_dir, **store);
    if (st.ok()) st = eventstore::write_backend_uri(g.store_dir, a.backend);
    if (!st.ok()) return report_error(g, st);
  }
  auto appended = (*engine)->initialize({a.admin_email, a.smtp_url, a.mail_from, days}, context(g));
  if (!appended.ok()) return report_error(g, appended.status());
  const domain::DomainState& initialized = (*engine)->known_state();
  const domain::SystemInitialized& event = *initialized.system();

  std::string abs = std::filesystem::absolute(g.store_dir).lexically_normal().string();
  nlohmann::json j = {{"store", abs},
                      {"backend", a.backend.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.backend)},
                      {"admin_email", event.admin_email},
                      {"smtp", event.smtp_url},
                      {"mail_from", event.mail_from},
                      {"expiry_alert_days", initialized.expiry_alert_days()},
                      {"position", appended->last_position}};
  print_result(g, j,
               "Initialised store " + abs + "\n  admin email: " + event.admin_email +
                   "\n  smtp:        " + (event.smtp_url.empty() ? "(none)" : event.smtp_url) +
                   "\n  mail from:   " + event.mail_from +
                   (a.backend.empty() ? "" : "\n  log:         PostgreSQL at " + a.backend) + "\n  store key:   " + abs +
                   "/store.key (0600)\n  api token:   " + abs + "/api-token (0600)\n");
  return kExitOk;
}

int run_init(const GlobalOptions& g, const InitArgs& a) {
  // Opening the store makes DIR (its writer lock at least). An init refused before any
  // secret is written takes back what it made there, once the store is closed: a bad or
  // unreachable URI, or a database that already holds a store, leaves DIR as it was.
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool dir_existed = fs::exists(g.store_dir, ec);
  const bool dir_was_empty = !dir_existed || fs::is_empty(g.store_dir, ec);
  bool secrets_written = false;
  const int rc = init_store(g, a, &secrets_written);
  if (rc != kExitOk && dir_was_empty && !secrets_written) {
    if (!dir_existed) {
      fs::remove_all(g.store_dir, ec);
    } else {
      for (const auto& made : fs::directory_iterator(g.store_dir, ec)) fs::remove_all(made.path(), ec);
    }
  }
  return rc;
}

}  // namespace

void add_init_command(CLI::App& app, GlobalOptions& g, CommandRunner& run) {
  auto args = std::make_shared<InitArgs>();
  CLI::App* cmd = app.add_subcommand("init", "create a store and set the system options");
  cmd->footer("Example: certsched --store ./store init --admin-email pki@example.com "
              "--smtp smtp://127.0.0.1:2525 --mail-from certsched@example.com");
  cmd->add_option("--admin-email", args->admin_email, "address for activation and alert mail")
      ->required()
      ->option_text("ADDR");
  cmd->add_option("--smtp", args->smtp_url, "SMTP server URL, smtp://HOST:PORT")
      ->option_text("URL");
  cmd->add_option("--mail-from", args->mail_from, "sender address of certsched's mail")
      ->option_text("ADDR");
  cmd->add_option("--expiry-alert-days", args->expiry_alert_days,
                  "alert this many days before a certificate in use expires (default 30,14,7)")
      ->option_text("N[,N...]");
  cmd->add_option("--backend", args->backend,
                  "keep the log in this PostgreSQL database, shared with the nodes that join it "
                  "(a libpq URI without a password)")
      ->option_text("URI");
  cmd->callback([&g, &run, args] { run = [&g, args] { return run_init(g, *args); }; });
}

}  // namespace certsched::cli
