// Private keys at rest: each local certificate's key is kept in DIR/keys/ (or, for a
// clustered store, in its database's sealed key table), sealed with AES-256-GCM under the
// store key (DIR/store.key, made by `init`, copied to each node by `join`), never in the
// event log.
// Two forms are sealed together: the plain PKCS#8 key the engine uses unattended, and the
// operator's password-protected PKCS#8, which lets a later command verify the password
// without the password ever being stored.
#pragma once

#include <string>

#include "domain/secret_bytes.h"
#include "base/status.h"
#include "eventstore/event_store.h"

namespace certsched::domain {

struct SealedKey {
  SecretBytes pkcs8;
  SecretBytes password_protected;
};

class KeyVault {
 public:
  // Reads the store key. NotFound if the store has none. With a table, sealed keys are
  // kept there instead of in DIR/keys.
  static Result<KeyVault> open(const std::string& store_dir, eventstore::SealedKeyTable* table = nullptr);

  // Seals both forms into DIR/keys/<fingerprint>.key (mode 0600), atomically, or the table.
  Status put(const std::string& fingerprint, const SealedKey& key) const;
  Result<SealedKey> get(const std::string& fingerprint) const;
  // Overwrites the sealed key's file with zeros, syncs, and removes it (or deletes its row).
  // OK if there is none.
  Status destroy(const std::string& fingerprint) const;
  bool holds(const std::string& fingerprint) const;

  // A sealed constant that only this store key opens: `init` of a clustered store writes
  // it, and `join` checks a node's copy of the key against it before using it.
  Status seal_key_check() const;
  Status verify_key_check() const;

 private:
  KeyVault(std::string dir, SecretBytes key, eventstore::SealedKeyTable* table)
      : dir_(std::move(dir)), store_key_(std::move(key)), table_(table) {}
  std::string name_for(const std::string& fingerprint) const;
  std::string path_for(const std::string& fingerprint) const { return dir_ + "/" + name_for(fingerprint) + ".key"; }
  // The sealed bytes of `fingerprint`, wherever they are kept; nullopt if none.
  Result<std::optional<std::string>> read_sealed(const std::string& fingerprint) const;
  std::string dir_;
  SecretBytes store_key_;
  eventstore::SealedKeyTable* table_;
};

}  // namespace certsched::domain
