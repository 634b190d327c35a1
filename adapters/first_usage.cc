#include "adapters/first_usage.h"

#include "adapters/smime_inspector.h"
#include "domain/key_vault.h"

namespace certsched::adapters {

Result<domain::CommandResult> observe_message(domain::Engine& engine,
                                              const std::string& partner_id, const std::string& message,
                                              const domain::CommandContext& ctx) {
  CERTSCHED_ASSIGN_OR_RETURN(auto state, engine.state());
  const domain::DomainState& s = *state;
  const domain::PartnerRecord* partner = s.partner(partner_id);
  if (!partner) return Status::NotFound("no partner " + partner_id);

  auto candidate = [&](const std::string& alias) {
    const domain::CertificateRecord* c = s.certificate(alias);
    return InspectableCertificate{alias, c->cert.fingerprint, c->cert.der};
  };
  // Any of our certificates may be the one the message is encrypted for; the engine then
  // decides whether that one is current or scheduled for this partner.
  std::vector<InspectableCertificate> ours;
  for (const auto& [alias, c] : s.certificates()) {
    if (c.cert.local) ours.push_back(candidate(alias));
  }
  // Signatures count only from the partner's configured signing certificates.
  std::vector<InspectableCertificate> signers;
  const auto& current = partner->current[static_cast<size_t>(domain::Role::kPartnerSigning)];
  if (current) signers.push_back(candidate(current->alias));
  if (const auto* open = s.open_schedule(partner_id, domain::Role::kPartnerSigning)) {
    signers.push_back(candidate(open->proposed.alias));
  }

  CERTSCHED_ASSIGN_OR_RETURN(auto vault, engine.key_vault());
  auto keys = [&](const std::string& fingerprint) -> Result<domain::SecretBytes> {
    CERTSCHED_ASSIGN_OR_RETURN(auto sealed, vault.get(fingerprint));
    return std::move(sealed.pkcs8);
  };
  auto used = inspect_smime(message, ours, signers, keys);
  if (!used.ok()) {
    return Status::InvalidArgument("message from partner " + partner_id + ": " + used.status().message());
  }
  std::vector<std::string> fingerprints;
  if (used->encrypted_for) fingerprints.push_back(*used->encrypted_for);
  if (used->signed_by) fingerprints.push_back(*used->signed_by);
  return engine.observe_first_usage(partner_id, fingerprints, ctx);
}

}  // namespace certsched::adapters
