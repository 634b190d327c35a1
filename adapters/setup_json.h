// The setup commands as the HTTP API's JSON: the bodies of POST /v1/partners and
// POST /v1/certificates, read here for the API and (the partner) written here for the CLI
// with --server, so both sides share one schema.
//   POST /v1/partners      {"id", "protocol", "email", "cem": bool, "certificates": {ROLE: ALIAS}}
//   POST /v1/certificates  {"alias", "partner_cert": bool, "password",
//                           one of "cert" (PEM text), "cert_base64" (PEM or DER), or
//                           "pkcs12_base64"; with "cert"/"cert_base64" optionally "key"
//                           (PEM text) or "key_base64" (PEM or DER)}
#pragma once

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "domain/commands.h"

namespace certsched::adapters {

//   PATCH /v1/partners/ID  {"email", "protocol", "cem": bool}, each optional
//   DELETE /v1/partners/ID, DELETE /v1/certificates/ALIAS  {"reason"}
nlohmann::json add_partner_to_json(const domain::AddPartnerCommand& c);
// A missing required field, one of the wrong type or one the schema does not know, an
// unknown protocol or role: InvalidArgument naming it.
Result<domain::AddPartnerCommand> add_partner_from_json(const nlohmann::json& body);

nlohmann::json update_partner_to_json(const domain::UpdatePartnerCommand& c);
Result<domain::UpdatePartnerCommand> update_partner_from_json(const std::string& id, const nlohmann::json& body);

// As above; also refuses bodies that are not base64 where base64 is expected, or that give
// the certificate twice. The key and password are the caller's to wipe.
Result<domain::ImportCertificateCommand> import_from_json(const nlohmann::json& body);

}  // namespace certsched::adapters
