#include "adapters/remedies.h"

namespace certsched::adapters {
namespace {

struct Remedy {
  const char* phrase;  // as the domain words it
  const char* cli;     // empty: none
  const char* api;
};

const Remedy kRemedies[] = {
    {"the store is not initialised", "run `certsched init` first", ""},
    {"(a store made by init has one)", "`certsched init` makes a store", ""},
    {"(import it first)", "`certsched cert import`", "POST /v1/certificates"},
    {"needs its password", "--password-file FILE", "\"password\""},
    {"key needs a password", "--password-file FILE", "\"password\""},
    {"a local certificate needs its private key", "--key FILE or --pkcs12 FILE", "\"key\" or \"pkcs12\""},
    {"imported as a partner certificate", "--partner-cert", "\"partner_cert\": true"},
    {"the signing certificate is to serve for encryption too", "--use-signing-for-encryption",
     "\"use_signing_for_encryption\""},
    {"using the signing certificate for encryption too", "--use-signing-for-encryption", "\"use_signing_for_encryption\""},
    {"name at least one role and its certificate", "--role ROLE=ALIAS", "\"roles\": {ROLE: ALIAS}"},
    {"no SMTP server is configured", "certsched init --smtp URL", ""},
    {"the sender address", "--mail-from", "\"mail_from\""},
    {"forcing the SSL client certificate schedules it anyway", "--force-ssl-client", "\"force_ssl_client\": true"},
    {"forcing the SSL server certificate schedules it anyway", "--force-ssl-server", "\"force_ssl_server\": true"},
    {"configure the listener first", "certsched listener configure", ""},
    {"cancelling needs a reason", "--reason TEXT", "\"reason\""},
    {"skipping the partner email needs a reason", "--reason TEXT", "\"reason\""},
    {"removing a partner needs a reason", "--reason TEXT", "\"reason\""},
    {"removing a certificate needs a reason", "--reason TEXT", "\"reason\""},
    {"by reusing the id on purpose", "--reuse-id", "\"reuse_id\": true"},
};

// " [remedy]", as inserted after a phrase.
std::string note_for(const Remedy& r, FrontEnd front_end) {
  const std::string remedy = front_end == FrontEnd::kCli ? r.cli : r.api;
  return remedy.empty() ? "" : " [" + remedy + "]";
}

}  // namespace

std::string without_remedies(const std::string& message, FrontEnd front_end) {
  std::string out = message;
  for (const Remedy& r : kRemedies) {
    const std::string phrase = r.phrase, note = note_for(r, front_end);
    if (note.empty()) continue;
    for (size_t at = out.find(phrase + note); at != std::string::npos; at = out.find(phrase + note, at)) {
      at += phrase.size();
      out.erase(at, note.size());
    }
  }
  return out;
}

std::string with_remedies(const std::string& message, FrontEnd front_end) {
  std::string out = message;
  for (const Remedy& r : kRemedies) {
    const std::string note = note_for(r, front_end);
    if (note.empty()) continue;
    const std::string phrase = r.phrase;
    for (size_t at = out.find(phrase); at != std::string::npos; at = out.find(phrase, at)) {
      at += phrase.size();
      if (out.compare(at, note.size(), note) == 0) continue;  // already there (a retried message)
      out.insert(at, note);
      at += note.size();
    }
  }
  return out;
}

}  // namespace certsched::adapters
