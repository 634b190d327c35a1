// certsched schedule propose | confirm | decline | cancel | skip-email | list
#include <iostream>
#include <sstream>

#include "adapters/cli/commands.h"
#include "adapters/proposal_json.h"
#include "adapters/remedies.h"
#include "adapters/cli/remote.h"
#include "projections/views.h"
#include "adapters/cli/session.h"
#include "domain/instant.h"

namespace certsched::cli {
namespace {

using namespace projections;

struct ProposeArgs {
  std::string partners, at, password_file;
  std::vector<std::string> roles;
  bool use_signing_for_encryption = false, force_ssl_client = false, force_ssl_server = false, email_partners = false;
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, sep);) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

std::string schedule_line(const nlohmann::json& s) {
  char line[512];
  std::snprintf(line, sizeof line, "%-6s %-6s %-12s %-18s %-20s %-10s %s%s\n", s["id"].get<std::string>().c_str(),
                s["proposal"].get<std::string>().c_str(), s["partner"].get<std::string>().c_str(),
                s["role"].get<std::string>().c_str(), s["alias"].get<std::string>().c_str(),
                s["state"].get<std::string>().c_str(), s["activate_at"].get<std::string>().c_str(),
                s["first_usage"].get<bool>() ? " or first usage" : "");
  return line;
}

const char* kHeader = "ID     PROP.  PARTNER      ROLE               ALIAS                STATE      ACTIVATES\n";

// Prints a command's answer, {"proposal", "schedules", "duplicate", "warnings", "notes"},
// whether it came from the local engine or from a server.
int print_reply(const GlobalOptions& g, const nlohmann::json& j, const std::string& verb) {
  const std::string proposal = j.value("proposal", "");
  std::string text = verb + (proposal.empty() ? "" : " proposal " + proposal) +
                     (j.value("duplicate", false) ? " (already applied under this command id)" : "") + "\n" + kHeader;
  for (const auto& s : j["schedules"]) text += schedule_line(s);
  for (const auto& n : j.value("notes", nlohmann::json::array())) {
    text += "note: " + adapters::with_remedies(n.get<std::string>(), adapters::FrontEnd::kCli) + "\n";
  }
  if (!g.json) {
    for (const auto& w : j.value("warnings", nlohmann::json::array())) std::cerr << "certsched: warning: " << w.get<std::string>() << "\n";
  }
  print_result(g, j, text);
  return kExitOk;
}

int print_schedules(const GlobalOptions& g, Session& s, const domain::CommandResult& r, const std::string& verb) {
  nlohmann::json schedules = nlohmann::json::array();
  for (const auto& id : r.schedule_ids) schedules.push_back(schedule_json(*s.state().schedule(id)));
  nlohmann::json j = result_json(r);
  for (auto& n : j["notes"]) n = adapters::with_remedies(n.get<std::string>(), adapters::FrontEnd::kCli);
  j["proposal"] = r.proposal_id;
  j["schedules"] = schedules;
  return print_reply(g, j, verb);
}

int remote_reply(const GlobalOptions& g, const std::string& path, const nlohmann::json& body, const std::string& verb) {
  auto r = remote_call(g, "POST", path, body);
  if (!r.ok()) return fail(g, r.status());
  return print_reply(g, r.value(), verb);
}

int run_propose(const GlobalOptions& g, const ProposeArgs& a) {
  domain::ProposeCommand c;
  c.partners = split(a.partners, ',');
  for (const auto& spec : a.roles) {
    const auto eq = spec.find('=');
    auto role = domain::parse_role(spec.substr(0, eq));
    if (eq == std::string::npos || !role || eq + 1 == spec.size()) {
      return fail(g, Status::InvalidArgument("--role '" + spec + "' must be ROLE=ALIAS with ROLE one of local-signing, "
                                             "local-encryption, local-ssl-client, local-ssl-server, partner-signing, partner-encryption"));
    }
    c.roles.push_back({*role, spec.substr(eq + 1)});
  }
  if (a.at != "now") {
    auto at = domain::parse_instant(a.at);
    if (!at.ok()) return fail(g, Status::InvalidArgument("--at: " + at.status().message() + " or now"));
    c.activate_at_ns = at.value();
  }
  domain::SecretBytes password;
  if (!a.password_file.empty()) {
    auto p = read_password_file(a.password_file);
    if (!p.ok()) return fail(g, p.status());
    password = std::move(p).value();
  }
  c.password = password.reveal();
  c.use_signing_for_encryption = a.use_signing_for_encryption;
  c.force_ssl_client = a.force_ssl_client;
  c.force_ssl_server = a.force_ssl_server;
  c.email_partners = a.email_partners;
  if (!g.server.empty()) {
    nlohmann::json body = adapters::proposal_to_json(c);
    domain::secure_wipe(c.password);
    const int code = remote_reply(g, "/v1/proposals", body, "Proposed");
    domain::secure_wipe(body["password"].get_ref<std::string&>());
    return code;
  }
  auto session = open_session(g, true, "certsched schedule propose");
  if (!session.ok()) return fail(g, session.status());
  auto r = (*session)->engine->propose(c, context(g));
  domain::secure_wipe(c.password);
  if (!r.ok()) return fail(g, r.status());
  return print_schedules(g, **session, r.value(), "Proposed");
}

template <class Command>
int run_decision(const GlobalOptions& g, const std::string& verb, Command command) {
  auto session = open_session(g, true, "certsched schedule " + verb);
  if (!session.ok()) return fail(g, session.status());
  auto r = command(*(*session)->engine, context(g));
  if (!r.ok()) return fail(g, r.status());
  return print_schedules(g, **session, r.value(), verb);
}

int run_list(const GlobalOptions& g, const std::string& partner, const std::string& state) {
  if (!state.empty()) {
    bool known = false;
    for (int s = 1; s <= static_cast<int>(statemachines::ScheduleState::kCancelled); ++s) {
      known |= state == statemachines::to_string(static_cast<statemachines::ScheduleState>(s));
    }
    if (!known) return fail(g, Status::InvalidArgument("--state '" + state + "' is not one of proposed, confirmed, emailed, pending, activated, withdrawn, cancelled"));
  }
  // Through the server; else the persisted projection when it is up to date; else a replay.
  std::vector<nlohmann::json> schedules;
  if (!g.server.empty()) {
    auto remote = remote_call(g, "GET", "/v1/schedules?partner=" + url_encode(partner) + "&state=" + url_encode(state));
    if (!remote.ok()) return fail(g, remote.status());
    nlohmann::json all = nlohmann::json::array();
    std::string text = kHeader;
    for (const auto& s : remote.value()) {
      all.push_back(s);
      text += schedule_line(s);
    }
    print_result(g, all, text);
    return kExitOk;
  }
  auto fresh = fresh_projection(g, "schedules");
  if (!fresh.ok()) return fail(g, fresh.status());
  if (fresh.value()) {
    schedules = std::move(*fresh.value());
  } else {
    auto session = open_session(g, false, "");
    if (!session.ok()) return fail(g, session.status());
    for (const auto& id : (*session)->state().schedule_ids()) schedules.push_back(schedule_json(*(*session)->state().schedule(id)));
  }
  if (!partner.empty()) {
    auto partners = fresh_projection(g, "partners");
    bool known = false;
    if (partners.ok() && partners.value()) {
      for (const auto& p : *partners.value()) known |= p["id"] == partner;
    } else {
      auto session = open_session(g, false, "");
      if (!session.ok()) return fail(g, session.status());
      known = (*session)->state().partner(partner) != nullptr;
    }
    if (!known) return fail(g, Status::NotFound("no partner " + partner));
  }
  nlohmann::json all = nlohmann::json::array();
  std::string text = kHeader;
  for (const auto& s : schedules) {
    if (!partner.empty() && s["partner"] != partner) continue;
    if (!state.empty() && s["state"] != state) continue;
    all.push_back(s);
    text += schedule_line(s);
  }
  print_result(g, all, text);
  return kExitOk;
}

}  // namespace

void add_schedule_commands(CLI::App& app, GlobalOptions& g, CommandRunner& run) {
  CLI::App* schedule = app.add_subcommand("schedule", "propose, decide and list certificate schedules");
  schedule->require_subcommand(1);

  auto a = std::make_shared<ProposeArgs>();
  CLI::App* propose = schedule->add_subcommand("propose", "propose new certificates for one or more partners");
  propose->footer("Example: certsched schedule propose --partners acme,globex --role local-signing=sign-2027 "
                  "--at 2027-01-15T00:00:00Z --password-file pw.txt --email-partners");
  propose->add_option("--partners", a->partners, "partner ids, comma-separated")->required()->option_text("ID[,ID...]");
  propose->add_option("--role", a->roles, "role and certificate, repeatable")->required()->option_text("ROLE=ALIAS");
  propose->add_option("--at", a->at, "activation instant (UTC, ISO 8601) or now")->required()->option_text("INSTANT|now");
  propose->add_option("--password-file", a->password_file, "file holding the local keys' password")->option_text("FILE");
  propose->add_flag("--use-signing-for-encryption", a->use_signing_for_encryption, "schedule the signing certificate for encryption too");
  propose->add_flag("--force-ssl-client", a->force_ssl_client, "also for partners without an SSL client certificate");
  propose->add_flag("--force-ssl-server", a->force_ssl_server, "also for partners not using their listener over SSL");
  propose->add_flag("--email-partners", a->email_partners, "mail the partners their new certificates after confirmation");
  propose->callback([&g, &run, a] { run = [&g, a] { return run_propose(g, *a); }; });

  auto id = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  CLI::App* confirm = schedule->add_subcommand("confirm", "confirm a proposal: its schedules take effect");
  confirm->add_option("PROPOSAL", *id)->required();
  confirm->footer("Example: certsched schedule confirm P3");
  confirm->callback([&g, &run, id] {
    run = [&g, id] {
      if (!g.server.empty()) return remote_reply(g, "/v1/proposals/" + url_encode(*id) + "/confirm", nlohmann::json::object(), "Confirmed");
      return run_decision(g, "Confirmed", [&](domain::Engine& e, const domain::CommandContext& c) { return e.confirm(*id, c); });
    };
  });
  CLI::App* decline = schedule->add_subcommand("decline", "decline a proposal: nothing changes");
  decline->add_option("PROPOSAL", *id)->required();
  decline->footer("Example: certsched schedule decline P3");
  decline->callback([&g, &run, id] {
    run = [&g, id] {
      if (!g.server.empty()) return remote_reply(g, "/v1/proposals/" + url_encode(*id) + "/decline", nlohmann::json::object(), "Declined");
      return run_decision(g, "Declined", [&](domain::Engine& e, const domain::CommandContext& c) { return e.decline(*id, c); });
    };
  });
  CLI::App* cancel = schedule->add_subcommand("cancel", "cancel a confirmed, emailed or pending schedule");
  cancel->add_option("SCHEDULE", *id)->required();
  cancel->footer("Example: certsched schedule cancel S7 --reason 'partner postponed its go-live'");
  cancel->add_option("--reason", *reason, "why, for the audit trail")->required()->option_text("TEXT");
  cancel->callback([&g, &run, id, reason] {
    run = [&g, id, reason] {
      if (!g.server.empty()) return remote_reply(g, "/v1/schedules/" + url_encode(*id) + "/cancel", {{"reason", *reason}}, "Cancelled");
      return run_decision(g, "Cancelled", [&](domain::Engine& e, const domain::CommandContext& c) { return e.cancel(*id, *reason, c); });
    };
  });
  CLI::App* skip = schedule->add_subcommand("skip-email", "let a schedule activate without its partner mail");
  skip->add_option("SCHEDULE", *id)->required();
  skip->footer("Example: certsched schedule skip-email S7 --reason 'sent through the partner portal'");
  skip->add_option("--reason", *reason, "why, for the audit trail")->required()->option_text("TEXT");
  skip->callback([&g, &run, id, reason] {
    run = [&g, id, reason] {
      if (!g.server.empty()) return remote_reply(g, "/v1/schedules/" + url_encode(*id) + "/skip-email", {{"reason", *reason}}, "Skipped the partner email of");
      return run_decision(g, "Skipped the partner email of", [&](domain::Engine& e, const domain::CommandContext& c) { return e.skip_email(*id, *reason, c); });
    };
  });

  auto partner = std::make_shared<std::string>();
  auto state = std::make_shared<std::string>();
  CLI::App* list = schedule->add_subcommand("list", "schedules, optionally by partner and state");
  list->add_option("--partner", *partner)->option_text("ID");
  list->footer("Example: certsched --json schedule list --partner acme --state pending");
  list->add_option("--state", *state)->option_text("STATE");
  list->callback([&g, &run, partner, state] { run = [&g, partner, state] { return run_list(g, *partner, *state); }; });
}

}  // namespace certsched::cli
