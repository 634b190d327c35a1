// Reads an inbound S/MIME (CMS) message as AS2 sends it — enveloped, signed, or signed then
// enveloped; S/MIME text or DER — and tells which of our certificates it is encrypted for
// and which partner certificate signed it. Signatures are verified only against the
// certificates the caller trusts for the partner, never against one embedded in the message.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "domain/secret_bytes.h"
#include "base/status.h"

namespace certsched::adapters {

struct InspectableCertificate {
  std::string alias;
  std::string fingerprint;
  std::string der;
};

struct MessageCertificates {
  std::optional<std::string> encrypted_for;  // fingerprint of our certificate, if enveloped
  std::optional<std::string> signed_by;      // fingerprint of the verified partner certificate
};

// Gives the unencrypted PKCS#8 DER key of one of our certificates, by fingerprint.
using KeyLookup = std::function<Result<domain::SecretBytes>(const std::string& fingerprint)>;

// `ours`: our certificates that may decrypt; `partner_signers`: the partner's current and
// scheduled signing certificates. InvalidArgument, naming the problem, when the message is
// malformed, encrypted for a certificate we do not hold, or signed by anything else, or
// when its signature does not verify.
Result<MessageCertificates> inspect_smime(const std::string& message,
                                          const std::vector<InspectableCertificate>& ours,
                                          const std::vector<InspectableCertificate>& partner_signers,
                                          const KeyLookup& keys);

}  // namespace certsched::adapters
