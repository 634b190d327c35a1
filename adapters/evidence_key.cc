#include "adapters/evidence_key.h"

#include <openssl/pem.h>

#include "base/atomic_file.h"
#include "base/openssl_util.h"

namespace certsched::adapters {
namespace {

std::string key_path(const std::string& store_dir) { return store_dir + "/evidence.key"; }

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

Result<base::PkeyPtr> private_key(const std::string& store_dir) {
  CERTSCHED_ASSIGN_OR_RETURN(auto pem, base::read_file_if_exists(key_path(store_dir)));
  if (!pem) return Status::NotFound("store " + store_dir + " has no evidence key yet");
  base::BioPtr bio = base::memory_bio(*pem);
  base::PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key || EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519) {
    return Status::Corruption("evidence key " + key_path(store_dir) + " is not an Ed25519 key: " + base::drain_openssl_errors());
  }
  return key;
}

Result<base::PkeyPtr> public_key(const std::string& pem) {
  base::BioPtr bio = base::memory_bio(pem);
  base::PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key || EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519) {
    base::drain_openssl_errors();
    return Status::Corruption("the evidence public key is not an Ed25519 public key in PEM");
  }
  return key;
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace

Status ensure_evidence_key(const std::string& store_dir) {
  CERTSCHED_ASSIGN_OR_RETURN(auto existing, base::read_file_if_exists(key_path(store_dir)));
  if (existing) return Status::Ok();
  base::PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return Status::IOError("cannot make an Ed25519 key: " + base::drain_openssl_errors());
  base::BioPtr out(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Status::IOError("cannot write the evidence key: " + base::drain_openssl_errors());
  }
  std::string pem = bio_text(out.get());
  const Status written = base::write_file_atomically(key_path(store_dir), pem, 0600);
  OPENSSL_cleanse(pem.data(), pem.size());
  return written;
}

Result<std::string> evidence_public_key(const std::string& store_dir) {
  CERTSCHED_ASSIGN_OR_RETURN(auto key, private_key(store_dir));
  base::BioPtr out(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PUBKEY(out.get(), key.get()) != 1) return Status::IOError("cannot write the evidence public key");
  return bio_text(out.get());
}

Result<std::string> evidence_sign(const std::string& store_dir, const std::string& message) {
  CERTSCHED_ASSIGN_OR_RETURN(auto key, private_key(store_dir));
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::string signature(64, '\0');
  size_t length = signature.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return Status::IOError("cannot sign with the evidence key: " + base::drain_openssl_errors());
  }
  signature.resize(length);
  return signature;
}

Result<bool> evidence_signature_valid(const std::string& public_pem, const std::string& message,
                                      const std::string& signature) {
  CERTSCHED_ASSIGN_OR_RETURN(auto key, public_key(public_pem));
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return Status::IOError("cannot verify: " + base::drain_openssl_errors());
  }
  const int ok = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                  reinterpret_cast<const unsigned char*>(message.data()), message.size());
  base::drain_openssl_errors();
  return ok == 1;
}

Result<std::string> evidence_key_id(const std::string& public_pem) {
  CERTSCHED_ASSIGN_OR_RETURN(auto key, public_key(public_pem));
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(key.get(), &der);
  if (n <= 0) return Status::IOError("cannot encode the evidence public key");
  const std::string bytes(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return base::sha256_hex(bytes);
}

void add_evidence_key(const std::string& store_dir, nlohmann::json* options) {
  auto pem = evidence_public_key(store_dir);
  if (!pem.ok()) return;
  auto id = evidence_key_id(pem.value());
  if (!id.ok()) return;
  (*options)["evidence_key_id"] = id.value();
  (*options)["evidence_public_key"] = pem.value();
}

}  // namespace certsched::adapters
