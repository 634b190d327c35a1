// Ownership of OpenSSL objects and draining of its error queue.
#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace certsched::base {

struct BioFree { void operator()(BIO* p) const { BIO_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct Pkcs12Free { void operator()(PKCS12* p) const { PKCS12_free(p); } };
struct X509StackFree { void operator()(STACK_OF(X509)* p) const { sk_X509_pop_free(p, X509_free); } };

using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Pkcs12Ptr = std::unique_ptr<PKCS12, Pkcs12Free>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;

inline BioPtr memory_bio(const std::string& bytes) {
  return BioPtr(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

// Empties OpenSSL's thread-local error queue and returns the first reason, so that one
// failure never leaks into the next call's diagnosis.
std::string drain_openssl_errors();

// SHA-256 of `bytes` as 64 lower-case hexadecimal digits.
std::string sha256_hex(const std::string& bytes);

}  // namespace certsched::base
