#include "adapters/smime_inspector.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "base/openssl_util.h"

namespace certsched::adapters {
namespace {

using base::BioPtr;
using base::PkeyPtr;
using base::X509Ptr;
struct CmsFree { void operator()(CMS_ContentInfo* p) const { CMS_ContentInfo_free(p); } };
// Does not free the certificates: they stay owned by their X509Ptr.
struct BorrowedStackFree { void operator()(STACK_OF(X509)* p) const { sk_X509_free(p); } };
using CmsPtr = std::unique_ptr<CMS_ContentInfo, CmsFree>;
using StackPtr = std::unique_ptr<STACK_OF(X509), BorrowedStackFree>;

constexpr size_t kMaxMessageBytes = 64 << 20;
constexpr int kMaxNesting = 3;

std::string openssl_reason() { return base::drain_openssl_errors(); }

Status bad(const std::string& what) {
  ERR_clear_error();
  return Status::InvalidArgument(what);
}

X509Ptr parse_der(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

bool looks_like_mime(const std::string& m) {
  const std::string head = m.substr(0, 4096);
  return head.find("Content-Type:") != std::string::npos || head.find("content-type:") != std::string::npos ||
         head.find("MIME-Version:") != std::string::npos;
}

// Parses S/MIME text or DER; `detached` receives a multipart/signed message's content.
Result<CmsPtr> parse(const std::string& message, BioPtr* detached) {
  BioPtr in(BIO_new_mem_buf(message.data(), static_cast<int>(message.size())));
  CmsPtr cms;
  if (looks_like_mime(message)) {
    BIO* content = nullptr;
    cms.reset(SMIME_read_CMS(in.get(), &content));
    detached->reset(content);
  } else {
    cms.reset(d2i_CMS_bio(in.get(), nullptr));
  }
  if (!cms) return bad("the message is not S/MIME or DER CMS (" + openssl_reason() + ")");
  return cms;
}

// Which of `ours` a recipient info of the enveloped message names.
const InspectableCertificate* recipient_match(CMS_ContentInfo* cms, const std::vector<InspectableCertificate>& ours,
                                              X509Ptr* cert_out) {
  STACK_OF(CMS_RecipientInfo)* infos = CMS_get0_RecipientInfos(cms);
  for (const auto& candidate : ours) {
    X509Ptr cert = parse_der(candidate.der);
    if (!cert) continue;
    for (int i = 0; i < sk_CMS_RecipientInfo_num(infos); ++i) {
      CMS_RecipientInfo* ri = sk_CMS_RecipientInfo_value(infos, i);
      bool match = false;
      if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_TRANS) {
        match = CMS_RecipientInfo_ktri_cert_cmp(ri, cert.get()) == 0;
      } else if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_AGREE) {
        STACK_OF(CMS_RecipientEncryptedKey)* reks = CMS_RecipientInfo_kari_get0_reks(ri);
        for (int k = 0; k < sk_CMS_RecipientEncryptedKey_num(reks) && !match; ++k) {
          match = CMS_RecipientEncryptedKey_cert_cmp(sk_CMS_RecipientEncryptedKey_value(reks, k), cert.get()) == 0;
        }
      }
      if (match) {
        *cert_out = std::move(cert);
        return &candidate;
      }
    }
  }
  return nullptr;
}

Status inspect_layer(const std::string& message, const std::vector<InspectableCertificate>& ours,
                     const std::vector<InspectableCertificate>& signers, const KeyLookup& keys, int depth,
                     MessageCertificates* out) {
  if (depth > kMaxNesting) return bad("the message nests more than " + std::to_string(kMaxNesting) + " CMS layers");
  BioPtr detached;
  CERTSCHED_ASSIGN_OR_RETURN(auto parsed, parse(message, &detached));
  CMS_ContentInfo* cms = parsed.get();
  const int type = OBJ_obj2nid(CMS_get0_type(cms));

  if (type == NID_pkcs7_enveloped || type == NID_id_smime_ct_authEnvelopedData) {
    X509Ptr cert;
    const InspectableCertificate* ours_used = recipient_match(cms, ours, &cert);
    if (!ours_used) return bad("the message is encrypted for a certificate we do not hold");
    out->encrypted_for = ours_used->fingerprint;
    CERTSCHED_ASSIGN_OR_RETURN(auto key_der, keys(ours_used->fingerprint));
    const unsigned char* p = reinterpret_cast<const unsigned char*>(key_der.reveal().data());
    PkeyPtr key(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(key_der.reveal().size())));
    if (!key) return Status::Corruption("the stored key of " + ours_used->alias + " does not decode");
    BioPtr inner(BIO_new(BIO_s_mem()));
    if (CMS_decrypt(cms, key.get(), cert.get(), nullptr, inner.get(), CMS_BINARY) != 1) {
      return bad("the message does not decrypt with " + ours_used->alias + " (" + openssl_reason() + ")");
    }
    const std::string content = bio_text(inner.get());
    // Signed, then enveloped: the decrypted content is itself a signed message.
    const bool nested = content.find("application/pkcs7-mime") != std::string::npos ||
                        content.find("application/x-pkcs7-mime") != std::string::npos ||
                        content.find("multipart/signed") != std::string::npos;
    if (nested) return inspect_layer(content, ours, signers, keys, depth + 1, out);
    return Status::Ok();
  }

  if (type == NID_pkcs7_signed) {
    STACK_OF(CMS_SignerInfo)* infos = CMS_get0_SignerInfos(cms);
    if (sk_CMS_SignerInfo_num(infos) == 0) return bad("the signed message has no signer");
    for (const auto& candidate : signers) {
      X509Ptr cert = parse_der(candidate.der);
      if (!cert) continue;
      bool named = false;
      for (int i = 0; i < sk_CMS_SignerInfo_num(infos) && !named; ++i) {
        named = CMS_SignerInfo_cert_cmp(sk_CMS_SignerInfo_value(infos, i), cert.get()) == 0;
      }
      if (!named) continue;
      // Verify against the configured certificate only: CMS_NOINTERN ignores certificates
      // carried in the message, CMS_NO_SIGNER_CERT_VERIFY skips chain building, since trust
      // comes from the certificate being configured for this partner.
      StackPtr trusted(sk_X509_new_null());
      sk_X509_push(trusted.get(), cert.get());
      BioPtr sink(BIO_new(BIO_s_null()));
      const int ok = CMS_verify(cms, trusted.get(), nullptr, detached.get(), sink.get(),
                                CMS_NOINTERN | CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY);
      if (ok != 1) {
        return bad("the signature by " + candidate.alias + " does not verify (" + openssl_reason() + ")");
      }
      out->signed_by = candidate.fingerprint;
      return Status::Ok();
    }
    return bad("the message is signed by a certificate that is neither current nor scheduled for this partner");
  }
  return bad(std::string("the message is CMS ") + OBJ_nid2sn(type) + ", neither signed nor enveloped");
}

}  // namespace

Result<MessageCertificates> inspect_smime(const std::string& message, const std::vector<InspectableCertificate>& ours,
                                          const std::vector<InspectableCertificate>& partner_signers,
                                          const KeyLookup& keys) {
  if (message.empty()) return Status::InvalidArgument("the message is empty");
  if (message.size() > kMaxMessageBytes) return Status::InvalidArgument("the message is larger than 64 MiB");
  MessageCertificates out;
  Status st = inspect_layer(message, ours, partner_signers, keys, 0, &out);
  ERR_clear_error();
  if (!st.ok()) return st;
  return out;
}

}  // namespace certsched::adapters
