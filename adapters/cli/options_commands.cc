// certsched options show | set: the system options (admin email, SMTP server, sender,
// expiry alert days), each change an audited event.
#include <cstdlib>
#include <memory>

#include "adapters/cli/commands.h"
#include "adapters/evidence_key.h"
#include "adapters/cli/remote.h"
#include "adapters/cli/session.h"
#include "projections/views.h"

namespace certsched::cli {
namespace {

struct SetArgs {
  std::optional<std::string> admin_email, smtp_url, mail_from, days;
};

std::string options_text(const nlohmann::json& j) {
  std::string days;
  for (const auto& d : j.value("expiry_alert_days", nlohmann::json::array())) {
    days += (days.empty() ? "" : ", ") + std::to_string(d.get<uint32_t>());
  }
  const std::string smtp = j.value("smtp", "");
  return "admin email:   " + j.value("admin_email", "") + "\nsmtp:          " + (smtp.empty() ? "(none)" : smtp) +
         "\nmail from:     " + j.value("mail_from", "") + "\nexpiry alerts: " + (days.empty() ? "(none)" : days) +
         " days before a certificate in use expires\n" +
         (j.contains("evidence_key_id") ? "evidence key:  " + j["evidence_key_id"].get<std::string>() +
                                              " (SHA-256 of the public key that signs evidence packs)\n"
                                        : std::string());
}

int run_show(const GlobalOptions& g) {
  if (!g.server.empty()) {
    auto r = remote_call(g, "GET", "/v1/options");
    if (!r.ok()) return fail(g, r.status());
    print_result(g, r.value(), options_text(r.value()));
    return kExitOk;
  }
  auto session = open_session(g, false, "");
  if (!session.ok()) return fail(g, session.status());
  nlohmann::json j = projections::options_json((*session)->state());
  adapters::add_evidence_key(g.store_dir, &j);
  print_result(g, j, options_text(j));
  return kExitOk;
}

int run_set(const GlobalOptions& g, const SetArgs& a) {
  domain::SetOptionsCommand c;
  c.admin_email = a.admin_email;
  c.smtp_url = a.smtp_url;
  c.mail_from = a.mail_from;
  if (a.days) {
    auto days = parse_days(*a.days, "--expiry-alert-days");
    if (!days.ok()) return fail(g, days.status());
    c.expiry_alert_days = days.value();
  }
  nlohmann::json shown;
  if (!g.server.empty()) {
    nlohmann::json body = nlohmann::json::object();
    if (c.admin_email) body["admin_email"] = *c.admin_email;
    if (c.smtp_url) body["smtp"] = *c.smtp_url;
    if (c.mail_from) body["mail_from"] = *c.mail_from;
    if (c.expiry_alert_days) body["expiry_alert_days"] = *c.expiry_alert_days;
    auto r = remote_call(g, "PUT", "/v1/options", body);
    if (!r.ok()) return fail(g, r.status());
    shown = r.value();
  } else {
    auto session = open_session(g, true, "certsched options set");
    if (!session.ok()) return fail(g, session.status());
    auto r = (*session)->engine->set_options(c, context(g));
    if (!r.ok()) return fail(g, r.status());
    shown = projections::options_json((*session)->state());
    adapters::add_evidence_key(g.store_dir, &shown);
  }
  print_result(g, shown, "Set the system options:\n" + options_text(shown));
  return kExitOk;
}

}  // namespace

Result<std::vector<uint32_t>> parse_days(const std::string& text, const std::string& option) {
  std::vector<uint32_t> days;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, end - start);
    char* stop = nullptr;
    const unsigned long n = std::strtoul(item.c_str(), &stop, 10);
    if (item.empty() || *stop != '\0' || item[0] == '-' || item[0] == '+' || n > 100000) {
      return Status::InvalidArgument(option + " '" + text + "' must be whole days separated by commas, like 30,14,7");
    }
    days.push_back(static_cast<uint32_t>(n));
    start = end + 1;
  }
  return days;
}

void add_options_commands(CLI::App& app, GlobalOptions& g, CommandRunner& run) {
  CLI::App* options = app.add_subcommand("options", "show and change the system options");
  options->require_subcommand(1);
  CLI::App* show = options->add_subcommand("show", "the admin email, SMTP server, sender and expiry alert days");
  show->footer("Example: certsched --json options show");
  show->callback([&g, &run] { run = [&g] { return run_show(g); }; });

  auto a = std::make_shared<SetArgs>();
  CLI::App* set = options->add_subcommand("set", "change system options; each change is an audited event");
  set->footer("Example: certsched options set --admin-email pki-team@example.com --expiry-alert-days 45,14,3\n"
              "         certsched options set --smtp ''     # no SMTP server: no mail is sent");
  set->add_option("--admin-email", a->admin_email, "address for activation and alert mail")->option_text("ADDR");
  set->add_option("--smtp", a->smtp_url, "SMTP server URL, smtp://HOST:PORT (empty: none)")->option_text("URL");
  set->add_option("--mail-from", a->mail_from, "sender address of certsched's mail")->option_text("ADDR");
  set->add_option("--expiry-alert-days", a->days, "alert this many days before a certificate in use expires")
      ->option_text("N[,N...]");
  set->callback([&g, &run, a] { run = [&g, a] { return run_set(g, *a); }; });
}

}  // namespace certsched::cli
