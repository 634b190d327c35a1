#include "eventstore/hash_chain.h"

#include <openssl/evp.h>

#include <memory>

namespace certsched::eventstore {
namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// Fetching the digest and allocating a context per record would cost more than hashing
// a small record, so each thread keeps one context and the digest is fetched once.
const EVP_MD* sha256() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

}  // namespace

ChainHash chain_next(const ChainHash& previous, std::string_view record_bytes) {
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  ChainHash out{};
  unsigned int len = 0;
  // These calls fail only on allocation failure inside OpenSSL; a zero hash then fails
  // verification loudly rather than passing silently.
  if (EVP_DigestInit_ex(ctx.get(), sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), previous.data(), previous.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), record_bytes.data(), record_bytes.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1) {
    out.fill(0);
  }
  return out;
}

std::string to_hex(const ChainHash& hash) {
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  s.reserve(64);
  for (uint8_t b : hash) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 0xF]);
  }
  return s;
}

}  // namespace certsched::eventstore
