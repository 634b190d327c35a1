// certsched partner add | update | remove | show | list
#include <iostream>
#include <optional>
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
  bool cem = false, reuse_id = false;
  std::map<domain::Role, std::string> roles;
};

struct UpdateArgs {
  std::string id, protocol;
  std::optional<std::string> email;
  bool cem = false, no_cem = false;
};

std::string partner_text(const nlohmann::json& p) {
  std::ostringstream t;
  if (p.contains("removed_at")) {  // a retried command whose partner has been removed since
    t << "partner " << p["id"].get<std::string>() << " (this command's first result); removed since, on "
      << p["removed_at"].get<std::string>() << " by " << p["removed_by"].get<std::string>() << ": "
      << p["reason"].get<std::string>() << "\n";
    return t.str();
  }
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
  domain::AddPartnerCommand c{a.id, *protocol, a.email, a.cem, {}, a.reuse_id};
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
  auto j = partner_answer_json((*session)->state(), a.id);
  j["warnings"] = r->warnings;
  print_result(g, j, "Added " + partner_text(j));
  return kExitOk;
}

void print_notes(const GlobalOptions& g, const nlohmann::json& j) {
  if (g.json) return;
  for (const char* kind : {"warnings", "notes"}) {
    if (!j.contains(kind)) continue;
    for (const auto& line : j[kind]) std::cerr << "certsched: " << (kind[0] == 'w' ? "warning: " : "") << line.get<std::string>() << "\n";
  }
}

int run_update(const GlobalOptions& g, const UpdateArgs& a) {
  domain::UpdatePartnerCommand c;
  c.id = a.id;
  c.email = a.email;
  if (!a.protocol.empty()) {
    c.protocol = domain::parse_protocol(a.protocol);
    if (!c.protocol) return fail(g, Status::InvalidArgument("--protocol '" + a.protocol + "' is not one of AS2, AS3, AS4, FTP, SFTP, OFTP, HTTP"));
  }
  if (a.cem || a.no_cem) c.cem = a.cem;
  nlohmann::json j;
  if (!g.server.empty()) {
    auto r = remote_call(g, "PATCH", "/v1/partners/" + url_encode(a.id), adapters::update_partner_to_json(c));
    if (!r.ok()) return fail(g, r.status());
    j = std::move(r).value();
  } else {
    auto session = open_session(g, true, "certsched partner update");
    if (!session.ok()) return fail(g, session.status());
    auto r = (*session)->engine->update_partner(c, context(g));
    if (!r.ok()) return fail(g, r.status());
    j = partner_answer_json((*session)->state(), a.id);
    j["warnings"] = r->warnings;
    j["notes"] = r->notes;
  }
  print_notes(g, j);
  print_result(g, j, "Updated " + partner_text(j));
  return kExitOk;
}

int run_remove(const GlobalOptions& g, const std::string& id, const std::string& reason) {
  nlohmann::json j;
  if (!g.server.empty()) {
    auto r = remote_call(g, "DELETE", "/v1/partners/" + url_encode(id), {{"reason", reason}});
    if (!r.ok()) return fail(g, r.status());
    j = std::move(r).value();
  } else {
    auto session = open_session(g, true, "certsched partner remove");
    if (!session.ok()) return fail(g, session.status());
    auto r = (*session)->engine->remove_partner(id, reason, context(g));
    if (!r.ok()) return fail(g, r.status());
    j = removed_partner_json(*(*session)->state().removed_partner(id));
  }
  print_result(g, j, "Removed partner " + id + " (" + j["reason"].get<std::string>() + "). Its history stays: certsched audit --partner " + id + "\n");
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
  CLI::App* partner = app.add_subcommand("partner", "register, change, remove and show trading partners");
  partner->require_subcommand(1);
  auto a = std::make_shared<AddArgs>();
  CLI::App* add = partner->add_subcommand("add", "register a trading partner and its current certificates");
  add->footer("Example: certsched partner add --id acme --protocol AS2 --email edi@acme.example "
              "--local-signing sign-2026 --partner-signing acme-sign-2026");
  add->add_option("--id", a->id, "partner id")->required();
  add->add_option("--protocol", a->protocol, "AS2|AS3|AS4|FTP|SFTP|OFTP|HTTP")->required();
  add->add_option("--email", a->email, "partner contact address")->required();
  add->add_flag("--cem", a->cem, "the partner supports Certificate Exchange Messaging");
  add->add_flag("--reuse-id", a->reuse_id, "the id belonged to a removed partner: take it for this new one");
  for (uint8_t r = 0; r < domain::kRoleCount; ++r) {
    const auto role = static_cast<domain::Role>(r);
    add->add_option(std::string("--") + domain::to_string(role), a->roles[role],
                    std::string("current ") + domain::to_string(role) + " certificate")->option_text("ALIAS");
  }
  add->callback([&g, &run, a] { run = [&g, a] { return run_add(g, *a); }; });

  auto u = std::make_shared<UpdateArgs>();
  CLI::App* update = partner->add_subcommand("update", "change a partner's email, protocol or CEM flag");
  update->footer("Examples:\n  certsched partner update acme --email edi-team@acme.example\n"
                 "  certsched partner update acme --protocol AS4 --no-cem");
  update->add_option("ID", u->id, "partner id")->required();
  update->add_option("--email", u->email, "new contact address")->option_text("ADDR");
  update->add_option("--protocol", u->protocol, "AS2|AS3|AS4|FTP|SFTP|OFTP|HTTP");
  CLI::Option* cem = update->add_flag("--cem", u->cem, "the partner supports Certificate Exchange Messaging");
  update->add_flag("--no-cem", u->no_cem, "it does not")->excludes(cem);
  update->callback([&g, &run, u] { run = [&g, u] { return run_update(g, *u); }; });

  auto removed = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  CLI::App* remove = partner->add_subcommand("remove", "retire a partner with no open schedule; its history stays");
  remove->footer("Example: certsched partner remove acme --reason 'contract ended 2026-12-31'");
  remove->add_option("ID", *removed, "partner id")->required();
  remove->add_option("--reason", *reason, "why, for the audit trail")->required()->option_text("TEXT");
  remove->callback([&g, &run, removed, reason] { run = [&g, removed, reason] { return run_remove(g, *removed, *reason); }; });

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
