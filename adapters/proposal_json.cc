#include "adapters/proposal_json.h"

#include <map>
#include <vector>

#include "adapters/json_fields.h"
#include "domain/instant.h"
#include "domain/secret_bytes.h"

namespace certsched::adapters {

nlohmann::json proposal_to_json(const domain::ProposeCommand& c) {
  nlohmann::json roles = nlohmann::json::object();
  for (const auto& [role, alias] : c.roles) roles[domain::to_string(role)] = alias;
  return {{"partners", c.partners},
          {"roles", roles},
          {"at", c.activate_at_ns ? domain::format_instant(*c.activate_at_ns) : "now"},
          {"password", c.password},
          {"email_partners", c.email_partners},
          {"use_signing_for_encryption", c.use_signing_for_encryption},
          {"force_ssl_client", c.force_ssl_client},
          {"force_ssl_server", c.force_ssl_server}};
}

Result<domain::ProposeCommand> proposal_from_json(const nlohmann::json& body) {
  domain::ProposeCommand c;
  std::string at, password;
  std::map<std::string, std::string> roles;
  JsonFields f(body);
  f.only({"partners", "roles", "at", "password", "email_partners", "use_signing_for_encryption", "force_ssl_client",
          "force_ssl_server"});
  f.required("partners", c.partners);
  f.required("roles", roles);
  f.required("at", at);
  f.optional("password", password);
  f.optional("email_partners", c.email_partners);
  f.optional("use_signing_for_encryption", c.use_signing_for_encryption);
  f.optional("force_ssl_client", c.force_ssl_client);
  f.optional("force_ssl_server", c.force_ssl_server);
  c.password = password;
  domain::secure_wipe(password);
  if (!f.ok()) return f.status();
  for (const auto& [role, alias] : roles) {
    auto r = domain::parse_role(role);
    if (!r) return Status::InvalidArgument("\"" + role + "\" is not a role");
    c.roles.push_back({*r, alias});
  }
  if (at != "now") {
    auto t = domain::parse_instant(at);
    if (!t.ok()) return Status::InvalidArgument("\"at\": " + t.status().message());
    c.activate_at_ns = t.value();
  }
  return c;
}

}  // namespace certsched::adapters
