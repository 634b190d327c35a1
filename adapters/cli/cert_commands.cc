// certsched cert import | list | remove
#include <iostream>
#include <sstream>

#include "adapters/cli/commands.h"
#include "adapters/cli/remote.h"
#include "base/base64.h"
#include "projections/views.h"
#include "adapters/cli/session.h"

namespace certsched::cli {
namespace {

using namespace projections;

struct ImportArgs {
  std::string alias, cert, key, pkcs12, password_file;
  bool partner_cert = false;
};

void print_warnings(const GlobalOptions& g, const std::vector<std::string>& warnings) {
  if (g.json) return;
  for (const auto& w : warnings) std::cerr << "certsched: warning: " << w << "\n";
}

int print_imported(const GlobalOptions& g, const nlohmann::json& j) {
  std::ostringstream t;
  t << "Imported " << (j["local"].get<bool>() ? "local" : "partner") << " certificate " << j["alias"].get<std::string>()
    << "\n  subject:     " << j["subject"].get<std::string>() << "\n  fingerprint: " << j["fingerprint"].get<std::string>()
    << "\n  valid:       " << j["not_before"].get<std::string>() << " to " << j["not_after"].get<std::string>()
    << "\n  key:         " << j["key_type"].get<std::string>() << "\n  fits roles:  ";
  for (size_t i = 0; i < j["fits"].size(); ++i) t << (i ? ", " : "") << j["fits"][i].get<std::string>();
  t << "\n";
  if (j.contains("removed_at")) {  // a retried import of a certificate removed since
    t << "  removed since, on " << j["removed_at"].get<std::string>() << " by " << j["removed_by"].get<std::string>()
      << ": " << j["reason"].get<std::string>() << "\n";
  }
  print_warnings(g, j["warnings"].get<std::vector<std::string>>());
  print_result(g, j, t.str());
  return kExitOk;
}

int run_import(const GlobalOptions& g, const ImportArgs& a) {
  domain::ImportCertificateCommand c;
  c.alias = a.alias;
  c.partner_cert = a.partner_cert;
  if (!a.pkcs12.empty()) {
    if (!a.cert.empty() || !a.key.empty()) return fail(g, Status::InvalidArgument("give either --pkcs12 or --cert/--key, not both"));
    auto bytes = read_input_file(a.pkcs12, "PKCS#12");
    if (!bytes.ok()) return fail(g, bytes.status());
    c.pkcs12_bytes = std::move(bytes).value();
  } else {
    if (a.cert.empty()) return fail(g, Status::InvalidArgument("give --cert FILE or --pkcs12 FILE"));
    auto cert = read_input_file(a.cert, "certificate");
    if (!cert.ok()) return fail(g, cert.status());
    c.cert_bytes = std::move(cert).value();
    if (!a.key.empty()) {
      auto key = read_input_file(a.key, "key");
      if (!key.ok()) return fail(g, key.status());
      c.key_bytes = std::move(key).value();
    }
  }
  domain::SecretBytes password;
  if (!a.password_file.empty()) {
    auto p = read_password_file(a.password_file);
    if (!p.ok()) return fail(g, p.status());
    password = std::move(p).value();
  }
  if (!g.server.empty()) {
    // Files travel as base64, whatever their format; the server reads them as the CLI does.
    nlohmann::json body = {{"alias", c.alias}, {"partner_cert", c.partner_cert}};
    if (c.pkcs12_bytes) body["pkcs12_base64"] = base::base64_encode(*c.pkcs12_bytes);
    else body["cert_base64"] = base::base64_encode(c.cert_bytes);
    if (c.key_bytes) body["key_base64"] = base::base64_encode(*c.key_bytes);
    if (!password.reveal().empty()) body["password"] = password.reveal();
    auto r = remote_call(g, "POST", "/v1/certificates", body);
    if (body.contains("key_base64")) domain::secure_wipe(body["key_base64"].get_ref<std::string&>());
    if (body.contains("password")) domain::secure_wipe(body["password"].get_ref<std::string&>());
    if (c.key_bytes) domain::secure_wipe(*c.key_bytes);
    if (!r.ok()) return fail(g, r.status());
    return print_imported(g, r.value());
  }
  c.password = password.reveal();
  auto session = open_session(g, true, "certsched cert import");
  if (!session.ok()) return fail(g, session.status());
  auto r = (*session)->engine->import_certificate(c, context(g));
  domain::secure_wipe(c.password);
  if (c.key_bytes) domain::secure_wipe(*c.key_bytes);
  if (!r.ok()) return fail(g, r.status());
  return print_imported(g, imported_certificate_json((*session)->state(), a.alias, r.value()));
}

int run_list(const GlobalOptions& g) {
  nlohmann::json all = nlohmann::json::array();
  if (!g.server.empty()) {
    auto r = remote_call(g, "GET", "/v1/certificates");
    if (!r.ok()) return fail(g, r.status());
    all = std::move(r).value();
  } else {
    auto session = open_session(g, false, "");
    if (!session.ok()) return fail(g, session.status());
    for (const auto& [alias, c] : (*session)->state().certificates()) all.push_back(certificate_json(c));
  }
  std::ostringstream t;
  char line[512];
  std::snprintf(line, sizeof line, "%-20s %-8s %-20s %s\n", "ALIAS", "STORE", "NOT AFTER", "SUBJECT");
  t << line;
  for (const auto& c : all) {
    std::snprintf(line, sizeof line, "%-20s %-8s %-20s %s\n", c["alias"].get<std::string>().c_str(),
                  c["local"].get<bool>() ? "local" : "partner", c["not_after"].get<std::string>().c_str(),
                  c["subject"].get<std::string>().c_str());
    t << line;
  }
  print_result(g, all, t.str());
  return kExitOk;
}

int run_remove(const GlobalOptions& g, const std::string& alias, const std::string& reason) {
  nlohmann::json j;
  if (!g.server.empty()) {
    auto r = remote_call(g, "DELETE", "/v1/certificates/" + url_encode(alias), {{"reason", reason}});
    if (!r.ok()) return fail(g, r.status());
    j = std::move(r).value();
  } else {
    auto session = open_session(g, true, "certsched cert remove");
    if (!session.ok()) return fail(g, session.status());
    auto r = (*session)->engine->remove_certificate(alias, reason, context(g));
    if (!r.ok()) return fail(g, r.status());
    j = removed_certificate_json(*(*session)->state().removed_certificate(alias), r.value());
  }
  print_warnings(g, j["warnings"].get<std::vector<std::string>>());
  print_result(g, j, "Removed " + std::string(j["local"].get<bool>() ? "local" : "partner") + " certificate " + alias + " (" +
                         j["reason"].get<std::string>() + ")" +
                         (j["sealed_key_destroyed"].get<bool>() ? "; its sealed private key is destroyed" : "") +
                         ". Its history stays: certsched audit --cert " + alias + "\n");
  return kExitOk;
}

}  // namespace

void add_cert_commands(CLI::App& app, GlobalOptions& g, CommandRunner& run) {
  CLI::App* cert = app.add_subcommand("cert", "import, list and remove certificates");
  cert->require_subcommand(1);
  auto a = std::make_shared<ImportArgs>();
  CLI::App* imp = cert->add_subcommand("import", "import a local (with key) or partner certificate");
  imp->footer("Examples:\n  certsched cert import --alias acme-2027 --cert new.crt --key new.key --password-file pw.txt\n"
              "  certsched cert import --alias acme-partner --cert partner.pem --partner-cert");
  imp->add_option("--alias", a->alias, "unique name of the certificate")->required();
  imp->add_option("--cert", a->cert, "certificate file, PEM (with chain) or DER")->option_text("FILE");
  imp->add_option("--key", a->key, "private key file, PEM or DER")->option_text("FILE");
  imp->add_option("--pkcs12", a->pkcs12, "PKCS#12 bundle instead of --cert/--key")->option_text("FILE");
  imp->add_option("--password-file", a->password_file, "file holding the key or bundle password")->option_text("FILE");
  imp->add_flag("--partner-cert", a->partner_cert, "a trading partner's public certificate");
  imp->callback([&g, &run, a] { run = [&g, a] { return run_import(g, *a); }; });

  CLI::App* list = cert->add_subcommand("list", "list certificates");
  list->footer("Example: certsched --json cert list");
  list->callback([&g, &run] { run = [&g] { return run_list(g); }; });

  auto alias = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  CLI::App* remove = cert->add_subcommand("remove", "retire a certificate nothing uses or schedules; destroys its sealed key");
  remove->footer("Example: certsched cert remove sign-2025 --reason 'replaced by sign-2026, expired'");
  remove->add_option("ALIAS", *alias, "the certificate's alias")->required();
  remove->add_option("--reason", *reason, "why, for the audit trail")->required()->option_text("TEXT");
  remove->callback([&g, &run, alias, reason] { run = [&g, alias, reason] { return run_remove(g, *alias, *reason); }; });
}

}  // namespace certsched::cli
