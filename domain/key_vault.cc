#include "domain/key_vault.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "base/atomic_file.h"
#include "base/byte_io.h"
#include "base/unique_fd.h"

namespace certsched::domain {
namespace {

constexpr char kMagic[4] = {'C', 'S', 'K', '1'};
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

Result<std::string> read_file(const std::string& path) {
  CERTSCHED_ASSIGN_OR_RETURN(auto file, base::read_file_if_exists(path));
  if (!file.has_value()) return Status::NotFound("cannot read " + path);
  return std::move(*file);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<KeyVault> KeyVault::open(const std::string& store_dir, eventstore::SealedKeyTable* table) {
  auto text = read_file(store_dir + "/store.key");
  if (!text.ok()) {
    return Status::NotFound("store " + store_dir + " has no store.key (a store made by init has one)");
  }
  SecretBytes hex(std::move(text).value());
  std::string raw;
  for (size_t i = 0; i + 1 < hex.reveal().size() && raw.size() < 32; i += 2) {
    const int hi = hex_value(hex.reveal()[i]), lo = hex_value(hex.reveal()[i + 1]);
    if (hi < 0 || lo < 0) break;
    raw.push_back(static_cast<char>(hi * 16 + lo));
  }
  if (raw.size() != 32) {
    secure_wipe(raw);
    return Status::Corruption("store key " + store_dir + "/store.key is malformed");
  }
  return KeyVault(store_dir + "/keys", SecretBytes(std::move(raw)), table);
}

std::string KeyVault::name_for(const std::string& fingerprint) const {
  std::string name;
  for (char c : fingerprint) {
    if (c != ':') name.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return name;
}

Result<std::optional<std::string>> KeyVault::read_sealed(const std::string& fingerprint) const {
  if (table_) return table_->get(name_for(fingerprint));
  return base::read_file_if_exists(path_for(fingerprint));
}

Status KeyVault::put(const std::string& fingerprint, const SealedKey& key) const {
  std::string plain;
  base::put_bytes32(plain, key.pkcs8.reveal());
  base::put_bytes32(plain, key.password_protected.reveal());
  SecretBytes plaintext(std::move(plain));

  unsigned char nonce[kNonceBytes];
  if (RAND_bytes(nonce, sizeof nonce) != 1) return Status::IOError("random generator failed");
  std::string sealed(kMagic, sizeof kMagic);
  sealed.append(reinterpret_cast<char*>(nonce), sizeof nonce);
  sealed.append(kTagBytes, '\0');
  const size_t body_at = sealed.size();
  sealed.resize(body_at + plaintext.reveal().size());

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  const auto* k = reinterpret_cast<const unsigned char*>(store_key_.reveal().data());
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, k, nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(fingerprint.data()),
                        static_cast<int>(fingerprint.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(&sealed[body_at]), &len,
                        reinterpret_cast<const unsigned char*>(plaintext.reveal().data()),
                        static_cast<int>(plaintext.reveal().size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), nullptr, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          &sealed[sizeof kMagic + kNonceBytes]) != 1) {
    return Status::IOError("cannot seal the private key");
  }

  if (table_) return table_->put(name_for(fingerprint), sealed);
  ::mkdir(dir_.c_str(), 0700);
  return base::write_file_atomically(path_for(fingerprint), sealed, 0600);
}

Result<SealedKey> KeyVault::get(const std::string& fingerprint) const {
  const std::string path = table_ ? "of certificate " + fingerprint : path_for(fingerprint);
  CERTSCHED_ASSIGN_OR_RETURN(auto stored, read_sealed(fingerprint));
  if (!stored) return Status::NotFound("no private key is stored for certificate " + fingerprint);
  const std::string& sealed = *stored;
  const size_t body_at = sizeof kMagic + kNonceBytes + kTagBytes;
  if (sealed.size() < body_at || std::memcmp(sealed.data(), kMagic, sizeof kMagic) != 0) {
    return Status::Corruption("sealed key " + path + " is malformed");
  }
  std::string plain(sealed.size() - body_at, '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  const auto* k = reinterpret_cast<const unsigned char*>(store_key_.reveal().data());
  const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data() + sizeof kMagic);
  std::string tag = sealed.substr(sizeof kMagic + kNonceBytes, kTagBytes);
  const bool ok =
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, k, nonce) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(fingerprint.data()),
                        static_cast<int>(fingerprint.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len,
                        reinterpret_cast<const unsigned char*>(sealed.data() + body_at),
                        static_cast<int>(plain.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), nullptr, &len) == 1;
  SecretBytes plaintext(std::move(plain));
  if (!ok) {
    return Status::Corruption("sealed key " + path +
                              " does not open with this store's key (altered, or another store's)");
  }
  base::ByteReader r(plaintext.reveal());
  std::string a, b;
  if (!r.bytes32(a) || !r.bytes32(b) || !r.at_end()) {
    secure_wipe(a);
    secure_wipe(b);
    return Status::Corruption("sealed key " + path + " has a malformed body");
  }
  return SealedKey{SecretBytes(std::move(a)), SecretBytes(std::move(b))};
}


bool KeyVault::holds(const std::string& fingerprint) const {
  if (table_) {
    auto stored = read_sealed(fingerprint);
    return !stored.ok() || stored->has_value();  // when in doubt, destroy() runs and says
  }
  struct stat st;
  return ::stat(path_for(fingerprint).c_str(), &st) == 0;
}

// Zeros first, so that the sealed bytes are gone from the file's blocks too (as far as the
// file system overwrites in place), not only unlinked.
// A row is deleted; PostgreSQL keeps the dead row's bytes until VACUUM reclaims them, which
// is why they are sealed there like everywhere else.
Status KeyVault::destroy(const std::string& fingerprint) const {
  if (table_) return table_->erase(name_for(fingerprint));
  const std::string path = path_for(fingerprint);
  base::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return Status::Ok();
    return Status::IOError("cannot open sealed key " + path + ": " + std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::IOError("cannot stat sealed key " + path + ": " + std::strerror(errno));
  const std::string zeros(static_cast<size_t>(st.st_size), '\0');
  CERTSCHED_RETURN_IF_ERROR(base::write_all(fd.get(), zeros.data(), zeros.size(), "sealed key " + path));
  if (::fsync(fd.get()) != 0) return Status::IOError("cannot sync sealed key " + path + ": " + std::strerror(errno));
  fd.reset();
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::IOError("cannot remove sealed key " + path + ": " + std::strerror(errno));
  }
  return base::sync_directory(dir_);
}

namespace {
constexpr const char* kKeyCheck = "store-key-check";
constexpr const char* kKeyCheckText = "certsched store key check";
}  // namespace

Status KeyVault::seal_key_check() const {
  return put(kKeyCheck, SealedKey{SecretBytes(kKeyCheckText), SecretBytes("")});
}

Status KeyVault::verify_key_check() const {
  auto opened = get(kKeyCheck);
  if (opened.ok() && opened->pkcs8.reveal() == kKeyCheckText) return Status::Ok();
  if (opened.status().IsNotFound()) return Status::NotFound("the store holds no store key check");
  return Status::InvalidArgument("this store key does not open the store's sealed keys: it is not the store.key of the store's first node");
}

}  // namespace certsched::domain
