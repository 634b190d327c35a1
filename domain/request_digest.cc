#include "domain/request_digest.h"

#include <openssl/evp.h>

#include "base/byte_io.h"

namespace certsched::domain {
namespace {

std::string digest_of(const std::string& message) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // Fails only when OpenSSL cannot allocate; an empty digest then skips the check.
  if (EVP_Digest(message.data(), message.size(), out, &len, EVP_sha256(), nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string roles_field(const std::vector<std::pair<Role, std::string>>& roles) {
  std::string out;
  for (const auto& [role, alias] : roles) out.append(to_string(role)).append("=").append(alias).append(",");
  return out;
}

}  // namespace

std::string request_digest(std::initializer_list<std::string_view> fields) {
  std::string message;
  for (std::string_view f : fields) base::put_bytes32(message, f);
  return digest_of(message);
}

static std::string days_field(const std::vector<uint32_t>& days) {
  std::string out;
  for (uint32_t d : days) out.append(std::to_string(d)).append(",");
  return out;
}

std::string request_digest(const InitCommand& c) {
  return request_digest({"init", c.admin_email, c.smtp_url, c.mail_from, days_field(c.expiry_alert_days)});
}

std::string request_digest(const SetOptionsCommand& c) {
  auto field = [](const std::optional<std::string>& v) { return v ? "=" + *v : std::string("-"); };
  return request_digest({"options set", field(c.admin_email), field(c.smtp_url), field(c.mail_from),
                         c.expiry_alert_days ? days_field(*c.expiry_alert_days) : "-"});
}

std::string request_digest(const ImportCertificateCommand& c) {
  // The certificate (or the bundle it came in) names what is imported; the key and the
  // password are secrets and are not needed to tell two imports apart.
  return request_digest({"cert import", c.alias, c.partner_cert ? "partner" : "local", c.cert_bytes,
                         c.pkcs12_bytes ? request_digest({*c.pkcs12_bytes}) : ""});
}

std::string request_digest(const AddPartnerCommand& c) {
  const std::string roles = roles_field(c.certificates);
  // reuse_id only when given, so that the digests of earlier commands stay as they were.
  if (!c.reuse_id) return request_digest({"partner add", c.id, to_string(c.protocol), c.email, c.cem ? "cem" : "", roles});
  return request_digest({"partner add", c.id, to_string(c.protocol), c.email, c.cem ? "cem" : "", roles, "reuse-id"});
}

std::string request_digest(const UpdatePartnerCommand& c) {
  return request_digest({"partner update", c.id, c.email ? "email=" + *c.email : "",
                         c.protocol ? std::string("protocol=") + to_string(*c.protocol) : "",
                         c.cem ? (*c.cem ? "cem" : "no-cem") : ""});
}

std::string request_digest(const ConfigureListenerCommand& c) {
  return request_digest({"listener configure", to_string(c.listener), c.alias, c.dir, c.reload_command});
}

std::string request_digest(const ProposeCommand& c) {
  std::string partners;
  for (const auto& p : c.partners) partners.append(p).append(",");
  const std::string at = c.activate_at_ns ? std::to_string(*c.activate_at_ns) : "now";
  std::string options;
  for (bool o : {c.use_signing_for_encryption, c.force_ssl_client, c.force_ssl_server, c.email_partners}) {
    options.push_back(o ? '1' : '0');
  }
  return request_digest({"schedule propose", partners, roles_field(c.roles), at, options});
}

}  // namespace certsched::domain
