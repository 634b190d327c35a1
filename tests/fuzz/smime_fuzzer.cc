// S/MIME inspection, as `observe` and POST /v1/observations read an inbound message: our
// RSA certificate (which the seed messages are encrypted for) and its key, and the
// partner's signing certificate (which signed them).
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "adapters/smime_inspector.h"

using namespace certsched;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(CERTSCHED_FUZZ_FIXTURES) + "/" + name, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string cert_der(const std::string& pem) {
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  unsigned char* out = nullptr;
  const int n = i2d_X509(x, &out);
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  X509_free(x);
  BIO_free(b);
  return der;
}

std::string key_pkcs8_der(const std::string& pem) {
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
  PKCS8_PRIV_KEY_INFO* p8 = EVP_PKEY2PKCS8(k);
  unsigned char* out = nullptr;
  const int n = i2d_PKCS8_PRIV_KEY_INFO(p8, &out);
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  PKCS8_PRIV_KEY_INFO_free(p8);
  EVP_PKEY_free(k);
  BIO_free(b);
  return der;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<adapters::InspectableCertificate> ours = {{"ours", "OURS", cert_der(fixture("ours-rsa.pem"))}};
  static const std::vector<adapters::InspectableCertificate> partner = {{"partner", "PARTNER", cert_der(fixture("partner.pem"))}};
  static const std::string key = key_pkcs8_der(fixture("ours-rsa.key"));
  const adapters::KeyLookup keys = [](const std::string& fingerprint) -> Result<domain::SecretBytes> {
    if (fingerprint != "OURS") return Status::NotFound("no key for " + fingerprint);
    return domain::SecretBytes(std::string(key));
  };
  (void)adapters::inspect_smime(std::string(reinterpret_cast<const char*>(data), size), ours, partner, keys);
  return 0;
}
