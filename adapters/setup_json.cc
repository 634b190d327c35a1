#include "adapters/setup_json.h"

#include <algorithm>
#include <map>

#include "adapters/json_fields.h"
#include "base/base64.h"
#include "domain/roles.h"
#include "domain/secret_bytes.h"

namespace certsched::adapters {

nlohmann::json add_partner_to_json(const domain::AddPartnerCommand& c) {
  nlohmann::json certificates = nlohmann::json::object();
  for (const auto& [role, alias] : c.certificates) certificates[domain::to_string(role)] = alias;
  return {{"id", c.id},
          {"protocol", domain::to_string(c.protocol)},
          {"email", c.email},
          {"cem", c.cem},
          {"certificates", certificates},
          {"reuse_id", c.reuse_id}};
}

nlohmann::json update_partner_to_json(const domain::UpdatePartnerCommand& c) {
  nlohmann::json j = nlohmann::json::object();
  if (c.email) j["email"] = *c.email;
  if (c.protocol) j["protocol"] = domain::to_string(*c.protocol);
  if (c.cem) j["cem"] = *c.cem;
  return j;
}

namespace {

Result<domain::Protocol> protocol_named(const std::string& name) {
  const auto p = domain::parse_protocol(name);
  if (!p) return Status::InvalidArgument("\"protocol\" '" + name + "' is not one of AS2, AS3, AS4, FTP, SFTP, OFTP, HTTP");
  return *p;
}

}  // namespace

Result<domain::UpdatePartnerCommand> update_partner_from_json(const std::string& id, const nlohmann::json& body) {
  domain::UpdatePartnerCommand c;
  c.id = id;
  std::string email, protocol;
  bool cem = false;
  JsonFields f(body);
  f.only({"email", "protocol", "cem"});
  f.optional("email", email);
  f.optional("protocol", protocol);
  f.optional("cem", cem);
  if (!f.ok()) return f.status();
  if (body.contains("email")) c.email = email;
  if (body.contains("protocol")) {
    CERTSCHED_ASSIGN_OR_RETURN(c.protocol, protocol_named(protocol));
  }
  if (body.contains("cem")) c.cem = cem;
  return c;
}

Result<domain::AddPartnerCommand> add_partner_from_json(const nlohmann::json& body) {
  domain::AddPartnerCommand c;
  std::string protocol;
  std::map<std::string, std::string> certificates;
  JsonFields f(body);
  f.only({"id", "protocol", "email", "cem", "certificates", "reuse_id"});
  f.required("id", c.id);
  f.required("protocol", protocol);
  f.required("email", c.email);
  f.optional("cem", c.cem);
  f.optional("certificates", certificates);
  f.optional("reuse_id", c.reuse_id);
  if (!f.ok()) return f.status();
  CERTSCHED_ASSIGN_OR_RETURN(c.protocol, protocol_named(protocol));
  for (const auto& [name, alias] : certificates) {
    const auto role = domain::parse_role(name);
    if (!role) return Status::InvalidArgument("\"certificates\": '" + name + "' is not a role");
    c.certificates.push_back({*role, alias});
  }
  // In the roles' order, as the CLI gives them: the PartnerAdded event lists them so.
  std::sort(c.certificates.begin(), c.certificates.end());
  return c;
}

Result<domain::ImportCertificateCommand> import_from_json(const nlohmann::json& body) {
  domain::ImportCertificateCommand c;
  std::string cert, cert_base64, key, key_base64, pkcs12_base64;
  struct WipedOnReturn {
    std::string& text;
    ~WipedOnReturn() { domain::secure_wipe(text); }
  } wipe_key{key}, wipe_key_base64{key_base64}, wipe_bundle{pkcs12_base64};
  JsonFields f(body);
  f.only({"alias", "partner_cert", "password", "cert", "cert_base64", "key", "key_base64", "pkcs12_base64"});
  f.required("alias", c.alias);
  f.optional("partner_cert", c.partner_cert);
  f.optional("password", c.password);
  f.optional("cert", cert);
  f.optional("cert_base64", cert_base64);
  f.optional("key", key);
  f.optional("key_base64", key_base64);
  f.optional("pkcs12_base64", pkcs12_base64);
  if (!f.ok()) return f.status();
  const int given = body.contains("cert") + body.contains("cert_base64") + body.contains("pkcs12_base64");
  if (given != 1) {
    return Status::InvalidArgument("give exactly one of \"cert\" (PEM), \"cert_base64\" or \"pkcs12_base64\"");
  }
  if (body.contains("key") && body.contains("key_base64")) {
    return Status::InvalidArgument("give \"key\" or \"key_base64\", not both");
  }
  if (body.contains("pkcs12_base64") && (body.contains("key") || body.contains("key_base64"))) {
    return Status::InvalidArgument("a PKCS#12 bundle carries its key: give no \"key\" with \"pkcs12_base64\"");
  }
  auto decoded = [](const char* field, const std::string& text) -> Result<std::string> {
    auto bytes = base::base64_decode(text);
    if (!bytes.ok()) return Status::InvalidArgument(std::string("\"") + field + "\": " + bytes.status().message());
    return bytes;
  };
  if (body.contains("pkcs12_base64")) {
    CERTSCHED_ASSIGN_OR_RETURN(auto bundle, decoded("pkcs12_base64", pkcs12_base64));
    c.pkcs12_bytes = std::move(bundle);
  } else if (body.contains("cert_base64")) {
    CERTSCHED_ASSIGN_OR_RETURN(c.cert_bytes, decoded("cert_base64", cert_base64));
  } else {
    c.cert_bytes = std::move(cert);
  }
  if (body.contains("key_base64")) {
    CERTSCHED_ASSIGN_OR_RETURN(auto k, decoded("key_base64", key_base64));
    c.key_bytes = std::move(k);
  } else if (body.contains("key")) {
    c.key_bytes = std::move(key);
  }
  return c;
}

}  // namespace certsched::adapters
