#include "domain/certificate.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <ctime>

#include "domain/events.h"
#include "domain/instant.h"
#include "base/openssl_util.h"

namespace certsched::domain {

using base::BioPtr;
using base::drain_openssl_errors;
using base::memory_bio;
using base::Pkcs12Ptr;
using base::PkeyPtr;
using base::X509Ptr;
using base::X509StackPtr;

namespace {

constexpr size_t kMaxInputBytes = 1 << 20;

int password_callback(char* buf, int size, int, void* user) {
  const std::string* password = static_cast<const std::string*>(user);
  if (!password || password->empty() || static_cast<int>(password->size()) > size) return -1;
  std::memcpy(buf, password->data(), password->size());
  return static_cast<int>(password->size());
}

bool is_pem(const std::string& bytes) { return bytes.find("-----BEGIN ") != std::string::npos; }

std::string name_text(X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

int64_t asn1_time_ns(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return instant_from_seconds(static_cast<int64_t>(timegm(&tm)));
}

std::string der_of(X509* cert) {
  unsigned char* out = nullptr;
  int len = i2d_X509(cert, &out);
  if (len <= 0) return {};
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  return der;
}

std::string key_type_of(EVP_PKEY* key) {
  if (!key) return "unknown";
  const int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_RSA) return "RSA-" + std::to_string(EVP_PKEY_get_bits(key));
  if (id == EVP_PKEY_EC) {
    char group[64] = {};
    size_t len = 0;
    EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, &len);
    return std::string("EC-") + group;
  }
  if (id == EVP_PKEY_ED25519) return "Ed25519";
  return OBJ_nid2sn(id);
}

CertificateInfo describe(X509* cert, STACK_OF(X509)* chain) {
  CertificateInfo info;
  info.der = der_of(cert);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  X509_digest(cert, EVP_sha256(), md, &md_len);
  static const char* kHex = "0123456789ABCDEF";
  for (unsigned int i = 0; i < md_len; ++i) {
    if (i) info.fingerprint.push_back(':');
    info.fingerprint.push_back(kHex[md[i] >> 4]);
    info.fingerprint.push_back(kHex[md[i] & 0xF]);
  }
  info.subject = name_text(X509_get_subject_name(cert));
  info.issuer = name_text(X509_get_issuer_name(cert));
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)) {
    char* hex = BN_bn2hex(bn);
    info.serial = hex ? hex : "";
    OPENSSL_free(hex);
    BN_free(bn);
  }
  info.not_before_ns = asn1_time_ns(X509_get0_notBefore(cert));
  info.not_after_ns = asn1_time_ns(X509_get0_notAfter(cert));
  info.key_usage = X509_get_key_usage(cert);
  info.extended_key_usage = X509_get_extended_key_usage(cert);
  info.key_type = key_type_of(X509_get0_pubkey(cert));
  if (chain) {
    for (int i = 0; i < sk_X509_num(chain); ++i) info.chain_der.push_back(der_of(sk_X509_value(chain, i)));
  }
  return info;
}

// Reads a leaf and any following certificates (its chain).
Status read_certificates(const std::string& bytes, X509Ptr* leaf, X509StackPtr* chain) {
  chain->reset(sk_X509_new_null());
  BioPtr bio = memory_bio(bytes);
  if (is_pem(bytes)) {
    leaf->reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!*leaf) {
      return Status::InvalidArgument("the certificate file has no readable PEM certificate (" +
                                     drain_openssl_errors() + ")");
    }
    while (X509* next = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      sk_X509_push(chain->get(), next);
    }
    drain_openssl_errors();  // the loop ends on a "no start line" error by design
  } else {
    leaf->reset(d2i_X509_bio(bio.get(), nullptr));
    if (!*leaf) {
      return Status::InvalidArgument("the certificate file is neither PEM nor DER X.509 (" +
                                     drain_openssl_errors() + ")");
    }
  }
  return Status::Ok();
}

Result<PkeyPtr> read_private_key(const std::string& bytes, const std::string& password) {
  const bool encrypted = bytes.find("ENCRYPTED") != std::string::npos || !is_pem(bytes);
  BioPtr bio = memory_bio(bytes);
  std::string pass = password;
  PkeyPtr key;
  if (is_pem(bytes)) {
    key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, password_callback, &pass));
  } else {
    key.reset(d2i_PKCS8PrivateKey_bio(bio.get(), nullptr, password_callback, &pass));
    if (!key) {
      drain_openssl_errors();
      BioPtr again = memory_bio(bytes);
      key.reset(d2i_PrivateKey_bio(again.get(), nullptr));
    }
  }
  secure_wipe(pass);
  if (key) {
    drain_openssl_errors();
    return key;
  }
  const std::string reason = drain_openssl_errors();
  if (is_pem(bytes) && bytes.find("ENCRYPTED") != std::string::npos) {
    if (password.empty()) {
      return Status::InvalidArgument("the private key is encrypted and needs its password");
    }
    return Status::InvalidArgument("wrong password for the private key (it does not decrypt)");
  }
  if (!encrypted || is_pem(bytes)) {
    return Status::InvalidArgument("the key file has no readable private key (" + reason + ")");
  }
  return Status::InvalidArgument(
      "the key file is not a readable private key, or its password is wrong (" + reason + ")");
}

Result<SecretBytes> pkcs8_der(EVP_PKEY* key, const std::string* password) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  int ok;
  if (password) {
    std::string pass = *password;
    ok = i2d_PKCS8PrivateKey_bio(bio.get(), key, EVP_aes_256_cbc(), nullptr, 0, password_callback,
                                 &pass);
    secure_wipe(pass);
  } else {
    ok = i2d_PKCS8PrivateKey_bio(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  }
  if (ok != 1) return Status::IOError("cannot encode the private key: " + drain_openssl_errors());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  SecretBytes out(std::string(data, static_cast<size_t>(len)));
  OPENSSL_cleanse(data, static_cast<size_t>(len));
  return out;
}

Result<CertificateMaterial> assemble(X509* cert, STACK_OF(X509)* chain, EVP_PKEY* key,
                                     const std::string& password) {
  CertificateMaterial m;
  m.info = describe(cert, chain);
  if (key) {
    if (password.empty()) {
      return Status::InvalidArgument(
          "a local certificate's key needs a password: it protects the key "
          "and is asked for when the certificate is scheduled");
    }
    if (EVP_PKEY_eq(X509_get0_pubkey(cert), key) != 1) {
      drain_openssl_errors();
      return Status::InvalidArgument("the private key does not match the certificate " +
                                     m.info.subject + " (" + m.info.fingerprint + ")");
    }
    CERTSCHED_ASSIGN_OR_RETURN(auto plain, pkcs8_der(key, nullptr));
    CERTSCHED_ASSIGN_OR_RETURN(auto protected_key, pkcs8_der(key, &password));
    m.key_pkcs8 = std::move(plain);
    m.key_protected = std::move(protected_key);
  }
  return m;
}

}  // namespace

Result<CertificateMaterial> load_certificate(const std::string& cert_bytes,
                                             const std::optional<std::string>& key_bytes,
                                             const std::string& password) {
  if (cert_bytes.empty()) return Status::InvalidArgument("the certificate file is empty");
  if (cert_bytes.size() > kMaxInputBytes || (key_bytes && key_bytes->size() > kMaxInputBytes)) {
    return Status::InvalidArgument("the certificate or key file is larger than 1 MiB");
  }
  X509Ptr leaf;
  X509StackPtr chain;
  CERTSCHED_RETURN_IF_ERROR(read_certificates(cert_bytes, &leaf, &chain));
  PkeyPtr key;
  if (key_bytes) {
    if (key_bytes->empty()) return Status::InvalidArgument("the key file is empty");
    CERTSCHED_ASSIGN_OR_RETURN(auto read, read_private_key(*key_bytes, password));
    key = std::move(read);
  }
  return assemble(leaf.get(), chain.get(), key.get(), password);
}

Result<CertificateMaterial> load_pkcs12(const std::string& bytes, const std::string& password) {
  if (bytes.empty()) return Status::InvalidArgument("the PKCS#12 file is empty");
  if (bytes.size() > kMaxInputBytes) return Status::InvalidArgument("the PKCS#12 file is larger than 1 MiB");
  BioPtr bio = memory_bio(bytes);
  Pkcs12Ptr p12(d2i_PKCS12_bio(bio.get(), nullptr));
  if (!p12) {
    return Status::InvalidArgument("the file is not a readable PKCS#12 bundle (" +
                                   drain_openssl_errors() + ")");
  }
  if (PKCS12_verify_mac(p12.get(), password.c_str(), static_cast<int>(password.size())) != 1) {
    drain_openssl_errors();
    return Status::InvalidArgument(password.empty()
                                       ? "the PKCS#12 bundle needs its password"
                                       : "wrong password for the PKCS#12 bundle");
  }
  EVP_PKEY* raw_key = nullptr;
  X509* raw_cert = nullptr;
  STACK_OF(X509)* raw_chain = nullptr;
  if (PKCS12_parse(p12.get(), password.c_str(), &raw_key, &raw_cert, &raw_chain) != 1) {
    return Status::InvalidArgument("the PKCS#12 bundle does not decode (" +
                                   drain_openssl_errors() + ")");
  }
  PkeyPtr key(raw_key);
  X509Ptr cert(raw_cert);
  X509StackPtr chain(raw_chain ? raw_chain : sk_X509_new_null());
  if (!cert) return Status::InvalidArgument("the PKCS#12 bundle holds no certificate");
  return assemble(cert.get(), chain.get(), key.get(), password);
}

Status verify_key_password(const std::string& key_protected, const std::string& password,
                           const CertificateInfo& cert, const std::string& alias) {
  if (password.empty()) {
    return Status::InvalidArgument("certificate " + alias +
                                   " is a local certificate: give its private key password");
  }
  BioPtr bio = memory_bio(key_protected);
  std::string pass = password;
  PkeyPtr key(d2i_PKCS8PrivateKey_bio(bio.get(), nullptr, password_callback, &pass));
  secure_wipe(pass);
  drain_openssl_errors();
  if (!key) return Status::InvalidArgument("wrong private key password for certificate " + alias);
  BioPtr cert_bio = memory_bio(cert.der);
  X509Ptr x(d2i_X509_bio(cert_bio.get(), nullptr));
  if (!x || EVP_PKEY_eq(X509_get0_pubkey(x.get()), key.get()) != 1) {
    drain_openssl_errors();
    return Status::Corruption("the stored key of certificate " + alias + " does not match it");
  }
  return Status::Ok();
}

std::vector<Finding> check_validity(const CertificateInfo& cert, int64_t at_ns,
                                    bool not_yet_valid_is_error) {
  std::vector<Finding> out;
  if (at_ns > cert.not_after_ns) {
    out.push_back({true, "certificate " + cert.subject + " expired at " +
                             format_instant(cert.not_after_ns)});
  } else if (at_ns < cert.not_before_ns) {
    out.push_back({not_yet_valid_is_error, "certificate " + cert.subject + " is not valid until " +
                                               format_instant(cert.not_before_ns)});
  }
  return out;
}

std::vector<Finding> check_role_fit(const CertificateInfo& cert, Role role) {
  std::vector<Finding> out;
  const uint32_t ku = cert.key_usage;
  const uint32_t xku = cert.extended_key_usage;
  const bool has_ku = ku != UINT32_MAX;
  const bool has_xku = xku != UINT32_MAX && !(xku & XKU_ANYEKU);
  const std::string what = std::string("certificate ") + cert.subject + " cannot serve as " + to_string(role);
  switch (role) {
    case Role::kLocalSigning:
    case Role::kPartnerSigning:
      if (has_ku && !(ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION))) {
        out.push_back({true, what + ": its key usage allows neither digitalSignature nor nonRepudiation"});
      }
      if (has_xku && !(xku & XKU_SMIME)) {
        out.push_back({false, "certificate " + cert.subject + " has no emailProtection extended key usage; some partners reject it for signing"});
      }
      break;
    case Role::kLocalEncryption:
    case Role::kPartnerEncryption:
      if (has_ku && !(ku & (KU_KEY_ENCIPHERMENT | KU_KEY_AGREEMENT))) {
        out.push_back({true, what + ": its key usage allows neither keyEncipherment nor keyAgreement"});
      }
      if (has_xku && !(xku & XKU_SMIME)) {
        out.push_back({false, "certificate " + cert.subject + " has no emailProtection extended key usage; some partners reject it for encryption"});
      }
      break;
    case Role::kLocalSslClient:
      if (has_xku && !(xku & XKU_SSL_CLIENT)) {
        out.push_back({true, what + ": its extended key usage lacks clientAuth"});
      }
      if (has_ku && !(ku & (KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT))) {
        out.push_back({true, what + ": its key usage lacks digitalSignature"});
      }
      break;
    case Role::kLocalSslServer:
      if (has_xku && !(xku & XKU_SSL_SERVER)) {
        out.push_back({true, what + ": its extended key usage lacks serverAuth"});
      }
      if (has_ku && !(ku & (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT | KU_KEY_AGREEMENT))) {
        out.push_back({true, what + ": its key usage lacks digitalSignature and keyEncipherment"});
      }
      break;
  }
  return out;
}

std::vector<Role> fitting_roles(const CertificateInfo& cert, bool has_key) {
  std::vector<Role> out;
  for (uint8_t i = 0; i < kRoleCount; ++i) {
    const Role r = static_cast<Role>(i);
    if (is_local(r) != has_key) continue;
    bool ok = true;
    for (const Finding& f : check_role_fit(cert, r)) ok = ok && !f.error;
    if (ok) out.push_back(r);
  }
  return out;
}

CertificateInfo info_of(const CertificateImported& c) {
  CertificateInfo i;
  i.fingerprint = c.fingerprint;
  i.subject = c.subject;
  i.issuer = c.issuer;
  i.serial = c.serial;
  i.not_before_ns = c.not_before_ns;
  i.not_after_ns = c.not_after_ns;
  i.key_usage = c.key_usage;
  i.extended_key_usage = c.extended_key_usage;
  i.key_type = c.key_type;
  i.der = c.der;
  i.chain_der = c.chain_der;
  return i;
}

std::string format_findings(const std::vector<Finding>& findings) {
  std::string s;
  for (const Finding& f : findings) {
    if (!s.empty()) s += "; ";
    s += f.message;
  }
  return s;
}

}  // namespace certsched::domain

namespace certsched::domain {

std::string certificate_pem(const std::string& der) {
  // The DER was checked when the certificate was loaded; PEM is only its base64 between the
  // CERTIFICATE lines, so it is not parsed again (a partner mail carries one per schedule).
  BioPtr out(BIO_new(BIO_s_mem()));
  if (PEM_write_bio(out.get(), "CERTIFICATE", "", reinterpret_cast<const unsigned char*>(der.data()),
                    static_cast<long>(der.size())) <= 0) {
    drain_openssl_errors();
    return {};
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<SecretBytes> private_key_pem(const SecretBytes& pkcs8_der) {
  BioPtr in = memory_bio(pkcs8_der.reveal());
  PkeyPtr key(d2i_PrivateKey_bio(in.get(), nullptr));
  if (!key) return Status::Corruption("a stored private key does not decode: " + drain_openssl_errors());
  BioPtr out(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PKCS8PrivateKey(out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Status::IOError("cannot encode a private key: " + drain_openssl_errors());
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(out.get(), &data);
  SecretBytes pem(std::string(data, static_cast<size_t>(len)));
  OPENSSL_cleanse(data, static_cast<size_t>(len));
  return pem;
}

}  // namespace certsched::domain
