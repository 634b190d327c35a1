// Mints real X.509 certificates in-process with OpenSSL, for workloads too large for the
// `openssl` tool (100,000 partners would take minutes of process starts). Every
// certificate is self-signed with one shared EC P-256 key; subjects and serials differ, so
// fingerprints differ. Partner certificates only: no private key leaves this file.
#pragma once

#include <memory>
#include <string>

namespace certsched::bench {

class CertMinter {
 public:
  CertMinter();
  ~CertMinter();
  // A PEM certificate for CN=`common_name`, valid from yesterday for two years, usable for
  // signing and encryption.
  std::string mint(const std::string& common_name);

 private:
  struct Key;
  std::unique_ptr<Key> key_;
  long serial_ = 1;
};

}  // namespace certsched::bench
