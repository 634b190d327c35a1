// The store's evidence key: Ed25519, made by `init` (or on first use in an older store) as
// DIR/evidence.key (PKCS#8 PEM, mode 0600). It signs the checkpoint of each evidence pack;
// its public part goes into the pack and into `options show`, so an auditor can pin it.
// It is never in the log.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "base/status.h"

namespace certsched::adapters {

// Makes DIR/evidence.key if the store has none.
Status ensure_evidence_key(const std::string& store_dir);

// The public key as PEM ("-----BEGIN PUBLIC KEY-----"); NotFound if there is no key yet.
Result<std::string> evidence_public_key(const std::string& store_dir);

// The Ed25519 signature (64 bytes) of `message` with the store's evidence key.
Result<std::string> evidence_sign(const std::string& store_dir, const std::string& message);

// Whether `signature` is the Ed25519 signature of `message` under the PEM public key.
Result<bool> evidence_signature_valid(const std::string& public_pem, const std::string& message,
                                      const std::string& signature);

// SHA-256 (hex) of the public key's DER: a short name to pin it by.
Result<std::string> evidence_key_id(const std::string& public_pem);

// `options show` names the key an auditor pins: "evidence_key_id" and "evidence_public_key"
// are added to `options` when the store has a key.
void add_evidence_key(const std::string& store_dir, nlohmann::json* options);

}  // namespace certsched::adapters
