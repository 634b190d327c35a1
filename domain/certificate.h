// X.509 certificates and their keys, read with OpenSSL: PEM, DER or PKCS#12, with
// unencrypted, encrypted PKCS#8 or traditional encrypted keys. Passwords are used to
// decrypt and are never kept.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/roles.h"
#include "domain/secret_bytes.h"
#include "base/status.h"

namespace certsched::domain {

struct CertificateImported;

struct CertificateInfo {
  std::string fingerprint;  // SHA-256 of the DER, as `openssl x509 -fingerprint -sha256` prints it
  std::string subject;      // RFC 2253
  std::string issuer;
  std::string serial;       // hex
  int64_t not_before_ns = 0;
  int64_t not_after_ns = 0;
  uint32_t key_usage = UINT32_MAX;           // OpenSSL KU_* bits; UINT32_MAX: no extension
  uint32_t extended_key_usage = UINT32_MAX;  // OpenSSL XKU_* bits; UINT32_MAX: no extension
  std::string key_type;                      // e.g. "RSA-2048", "EC-prime256v1"
  std::string der;                           // the certificate
  std::vector<std::string> chain_der;        // issuers that came with it, leaf first excluded
};

struct CertificateMaterial {
  CertificateInfo info;
  SecretBytes key_pkcs8;      // unencrypted PKCS#8 DER, for unattended use; empty without a key
  SecretBytes key_protected;  // PKCS#8 DER encrypted under the operator's password
};

// Reads a certificate (PEM with optional chain, or DER) and, when given, its private key.
// With a key, a password is required: it decrypts an encrypted key, or protects an
// unencrypted one, and the key must match the certificate.
Result<CertificateMaterial> load_certificate(const std::string& cert_bytes,
                                             const std::optional<std::string>& key_bytes,
                                             const std::string& password);

// Reads a PKCS#12 bundle: certificate, key and chain, all under `password`.
Result<CertificateMaterial> load_pkcs12(const std::string& bytes, const std::string& password);

// Proves the operator knows the key's password: decrypts `key_protected` with it and checks
// the key against the certificate. InvalidArgument on a wrong password.
Status verify_key_password(const std::string& key_protected, const std::string& password,
                           const CertificateInfo& cert, const std::string& alias);

struct Finding {
  bool error = false;  // errors refuse; warnings are shown to the operator
  std::string message;
};

// Validity at `at_ns` (expired: error; not yet valid: error when `not_yet_valid_is_error`).
std::vector<Finding> check_validity(const CertificateInfo& cert, int64_t at_ns,
                                    bool not_yet_valid_is_error);

// Key usage and extended key usage against what `role` needs.
std::vector<Finding> check_role_fit(const CertificateInfo& cert, Role role);

// Roles whose usage checks this certificate passes without an error.
std::vector<Role> fitting_roles(const CertificateInfo& cert, bool has_key);
// What the log's record of an imported certificate says of it.
CertificateInfo info_of(const CertificateImported& c);

std::string format_findings(const std::vector<Finding>& findings);

}  // namespace certsched::domain

namespace certsched::domain {

// PEM text of a DER certificate.
std::string certificate_pem(const std::string& der);
// PEM text (unencrypted PKCS#8) of a PKCS#8 DER private key.
Result<SecretBytes> private_key_pem(const SecretBytes& pkcs8_der);

}  // namespace certsched::domain
