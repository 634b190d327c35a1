// Private keys at rest: each local certificate's key is kept in DIR/keys/, sealed with
// AES-256-GCM under the store key (DIR/store.key, made by `init`), never in the event log.
// Two forms are sealed together: the plain PKCS#8 key the engine uses unattended, and the
// operator's password-protected PKCS#8, which lets a later command verify the password
// without the password ever being stored.
#pragma once

#include <string>

#include "domain/secret_bytes.h"
#include "base/status.h"

namespace certsched::domain {

struct SealedKey {
  SecretBytes pkcs8;
  SecretBytes password_protected;
};

class KeyVault {
 public:
  // Reads the store key. NotFound if the store has none.
  static Result<KeyVault> open(const std::string& store_dir);

  // Seals both forms into DIR/keys/<fingerprint>.key (mode 0600), atomically.
  Status put(const std::string& fingerprint, const SealedKey& key) const;
  Result<SealedKey> get(const std::string& fingerprint) const;
  // Overwrites the sealed key's file with zeros, syncs, and removes it. OK if there is none.
  Status destroy(const std::string& fingerprint) const;
  bool holds(const std::string& fingerprint) const;

 private:
  KeyVault(std::string dir, SecretBytes key) : dir_(std::move(dir)), store_key_(std::move(key)) {}
  std::string path_for(const std::string& fingerprint) const;
  std::string dir_;
  SecretBytes store_key_;
};

}  // namespace certsched::domain
