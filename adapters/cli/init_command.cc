// certsched init: creates the store, its store key and API token, and records the system
// options as the first event.
#include <unistd.h>

#include <filesystem>
#include <regex>

#include "adapters/cli/commands.h"
#include "adapters/secret_files.h"
#include "domain/event_codec.h"

namespace certsched::cli {
namespace {

struct InitArgs {
  std::string admin_email;
  std::string smtp_url;
  std::string mail_from;
};

bool looks_like_email(const std::string& s) {
  static const std::regex kEmail(R"(^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$|^[^@\s<>]+@localhost$)");
  return s.size() <= 254 && std::regex_match(s, kEmail);
}

Status validate(const InitArgs& a) {
  if (!looks_like_email(a.admin_email)) {
    return Status::InvalidArgument("--admin-email '" + a.admin_email +
                                   "' is not an email address (like pki@example.com)");
  }
  if (!a.mail_from.empty() && !looks_like_email(a.mail_from)) {
    return Status::InvalidArgument("--mail-from '" + a.mail_from + "' is not an email address");
  }
  if (!a.smtp_url.empty() && a.smtp_url.rfind("smtp://", 0) != 0 &&
      a.smtp_url.rfind("smtps://", 0) != 0) {
    return Status::InvalidArgument("--smtp '" + a.smtp_url +
                                   "' must start with smtp:// or smtps:// (like smtp://127.0.0.1:25)");
  }
  return Status::Ok();
}

int run_init(const GlobalOptions& g, const InitArgs& a) {
  if (Status st = validate(a); !st.ok()) return report_error(g, st);

  eventstore::StoreOptions options;
  options.create_if_missing = true;
  options.holder = "certsched init";
  auto store = eventstore::open_rocksdb_store(g.store_dir, options);
  if (!store.ok()) return report_error(g, store.status());

  auto version = (*store)->stream_version("system");
  if (!version.ok()) return report_error(g, version.status());
  if (version.value() != 0) {
    return report_error(g, Status::Conflict("store " + g.store_dir +
                                            " is already initialised; use another --store DIR"));
  }

  // Secrets first: an init that dies here leaves no system event and can simply be rerun.
  for (const char* name : {"store.key", "api-token"}) {
    if (Status st = adapters::write_random_secret(g.store_dir + "/" + name, 32); !st.ok()) {
      return report_error(g, st);
    }
  }

  domain::SystemInitialized event{a.admin_email, a.smtp_url,
                                  a.mail_from.empty() ? "certsched@localhost" : a.mail_from};
  eventstore::AppendRequest req;
  req.writes.push_back({"system", eventstore::ExpectedVersion::NoStream(),
                        {domain::encode_event(event)}});
  req.command_id = g.command_id;
  req.actor = g.actor;
  auto appended = (*store)->append(req);
  if (!appended.ok()) return report_error(g, appended.status());

  std::string abs = std::filesystem::absolute(g.store_dir).lexically_normal().string();
  nlohmann::json j = {{"store", abs},
                      {"admin_email", event.admin_email},
                      {"smtp", event.smtp_url},
                      {"mail_from", event.mail_from},
                      {"position", appended->last_position}};
  print_result(g, j,
               "Initialised store " + abs + "\n  admin email: " + event.admin_email +
                   "\n  smtp:        " + (event.smtp_url.empty() ? "(none)" : event.smtp_url) +
                   "\n  mail from:   " + event.mail_from + "\n  store key:   " + abs +
                   "/store.key (0600)\n  api token:   " + abs + "/api-token (0600)\n");
  return kExitOk;
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
  cmd->callback([&g, &run, args] { run = [&g, args] { return run_init(g, *args); }; });
}

}  // namespace certsched::cli
