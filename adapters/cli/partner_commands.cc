// certsched partner add | show | list
#include <sstream>

#include "adapters/cli/commands.h"
#include "adapters/cli/remote.h"
#include "adapters/setup_json.h"
#include "projections/views.h"
#include "adapters/cli/session.h"

namespace certsched::cli {
namespace {

using namespace projections;

struct AddArgs {
  std::string id, protocol, email;
  bool cem = false;
  std::map<domain::Role, std::string> roles;
};

std::string partner_text(const nlohmann::json& p) {
  std::ostringstream t;
  t << "Partner " << p["id"].get<std::string>() << " (" << p["protocol"].get<std::string>()
    << (p["cem"].get<bool>() ? ", CEM" : "") << ", listener " << p["listener"].get<std::string>() << ", "
    << p["email"].get<std::string>() << ")\n";
  for (uint8_t r = 0; r < domain::kRoleCount; ++r) {
    const std::string role = domain::to_string(static_cast<domain::Role>(r));
    const bool has = p["current"].contains(role), next = p["pending"].contains(role);
    if (!has && !next) continue;
    t << "  " << role << ":\n";
    if (has) t << "    current  " << p["current"][role]["alias"].get<std::string>() << "  " << p["current"][role]["fingerprint"].get<std::string>() << "\n";
    if (next) {
      const auto& s = p["pending"][role];
      t << "    pending  " << s["alias"].get<std::string>() << "  " << s["state"].get<std::string>() << ", activates "
        << s["activate_at"].get<std::string>() << (s["first_usage"].get<bool>() ? " or on first usage" : "") << " ("
        << s["id"].get<std::string>() << ", proposal " << s["proposal"].get<std::string>() << ")\n";
    }
  }
  return t.str();
}

int run_add(const GlobalOptions& g, const AddArgs& a) {
  auto protocol = domain::parse_protocol(a.protocol);
  if (!protocol) return fail(g, Status::InvalidArgument("--protocol '" + a.protocol + "' is not one of AS2, AS3, AS4, FTP, SFTP, OFTP, HTTP"));
  domain::AddPartnerCommand c{a.id, *protocol, a.email, a.cem, {}};
  for (const auto& [role, alias] : a.roles) {
    if (!alias.empty()) c.certificates.push_back({role, alias});
  }
  if (!g.server.empty()) {
    auto r = remote_call(g, "POST", "/v1/partners", adapters::add_partner_to_json(c));
    if (!r.ok()) return fail(g, r.status());
    print_result(g, r.value(), "Added " + partner_text(r.value()));
    return kExitOk;
  }
  auto session = open_session(g, true, "certsched partner add");
  if (!session.ok()) return fail(g, session.status());
  auto r = (*session)->engine->add_partner(c, context(g));
  if (!r.ok()) return fail(g, r.status());
  auto j = partner_json((*session)->state(), *(*session)->state().partner(a.id));
  j["warnings"] = r->warnings;
  print_result(g, j, "Added " + partner_text(j));
  return kExitOk;
}

// The persisted projection when it is up to date; a replay of the log otherwise.
Result<std::vector<nlohmann::json>> all_partners(const GlobalOptions& g) {
  if (!g.server.empty()) {
    CERTSCHED_ASSIGN_OR_RETURN(auto remote, remote_call(g, "GET", "/v1/partners"));
    return remote.get<std::vector<nlohmann::json>>();
  }
  CERTSCHED_ASSIGN_OR_RETURN(auto fresh, fresh_projection(g, "partners"));
  if (fresh) return std::move(*fresh);
  CERTSCHED_ASSIGN_OR_RETURN(auto session, open_session(g, false, ""));
  std::vector<nlohmann::json> out;
  for (const auto& [id, p] : session->state().partners()) out.push_back(partner_json(session->state(), p));
  return out;
}

int run_show(const GlobalOptions& g, const std::string& id) {
  auto partners = all_partners(g);
  if (!partners.ok()) return fail(g, partners.status());
  for (const auto& j : partners.value()) {
    if (j["id"] != id) continue;
    print_result(g, j, partner_text(j));
    return kExitOk;
  }
  return fail(g, Status::NotFound("no partner " + id + " (certsched partner list shows them)"));
}

int run_list(const GlobalOptions& g) {
  auto partners = all_partners(g);
  if (!partners.ok()) return fail(g, partners.status());
  nlohmann::json all = nlohmann::json::array();
  std::string text;
  for (const auto& j : partners.value()) {
    all.push_back(j);
    text += partner_text(j);
  }
  print_result(g, all, text.empty() ? "No partners yet (certsched partner add).\n" : text);
  return kExitOk;
}

}  // namespace

void add_partner_commands(CLI::App& app, GlobalOptions& g, CommandRunner& run) {
  CLI::App* partner = app.add_subcommand("partner", "register and show trading partners");
  partner->require_subcommand(1);
  auto a = std::make_shared<AddArgs>();
  CLI::App* add = partner->add_subcommand("add", "register a trading partner and its current certificates");
  add->footer("Example: certsched partner add --id acme --protocol AS2 --email edi@acme.example "
              "--local-signing sign-2026 --partner-signing acme-sign-2026");
  add->add_option("--id", a->id, "partner id")->required();
  add->add_option("--protocol", a->protocol, "AS2|AS3|AS4|FTP|SFTP|OFTP|HTTP")->required();
  add->add_option("--email", a->email, "partner contact address")->required();
  add->add_flag("--cem", a->cem, "the partner supports Certificate Exchange Messaging");
  for (uint8_t r = 0; r < domain::kRoleCount; ++r) {
    const auto role = static_cast<domain::Role>(r);
    add->add_option(std::string("--") + domain::to_string(role), a->roles[role],
                    std::string("current ") + domain::to_string(role) + " certificate")->option_text("ALIAS");
  }
  add->callback([&g, &run, a] { run = [&g, a] { return run_add(g, *a); }; });

  auto id = std::make_shared<std::string>();
  CLI::App* show = partner->add_subcommand("show", "a partner's current and pending certificates");
  show->add_option("ID", *id, "partner id")->required();
  show->footer("Example: certsched --json partner show acme");
  show->callback([&g, &run, id] { run = [&g, id] { return run_show(g, *id); }; });
  CLI::App* list = partner->add_subcommand("list", "all partners");
  list->footer("Example: certsched partner list");
  list->callback([&g, &run] { run = [&g] { return run_list(g); }; });
}

}  // namespace certsched::cli
