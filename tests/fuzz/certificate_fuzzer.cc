// Certificate and key import, as `cert import` reads its files. The first byte picks what
// the rest is: 'c' a certificate (PEM, chain or DER), 'k' a private key for the fixture
// certificate (password "pw"), 'p' a PKCS#12 bundle (password "pw").
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "domain/certificate.h"

using namespace certsched;

namespace {

std::string fixture_certificate() {
  std::ifstream in(std::string(CERTSCHED_FUZZ_FIXTURES) + "/ours.pem", std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const std::string cert = fixture_certificate();
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0]) {
    case 'c': {
      auto m = domain::load_certificate(rest, std::nullopt, "");
      if (m.ok()) (void)domain::certificate_pem(m->info.der);
      break;
    }
    case 'k': {
      auto m = domain::load_certificate(cert, rest, "pw");
      if (m.ok()) (void)domain::private_key_pem(m->key_pkcs8);
      break;
    }
    case 'p':
      (void)domain::load_pkcs12(rest, "pw");
      break;
    default:
      break;
  }
  return 0;
}
