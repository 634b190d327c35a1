// Makes real X.509 material with the `openssl` command-line tool, at test time.
#pragma once

#include <string>

namespace certsched::testing {

struct CertSpec {
  std::string name;              // file stem and CN
  bool ec = true;                // EC P-256, else RSA 2048
  int days = 365;
  std::string faketime;          // e.g. "2020-01-01 00:00:00" makes the cert then (expired)
  std::string key_usage = "digitalSignature,keyEncipherment";
  std::string extended_key_usage;  // e.g. "serverAuth"; empty: no extension
  std::string key_password;      // empty: unencrypted key
  bool traditional_key = false;  // "BEGIN RSA/EC PRIVATE KEY" with DEK-Info, not PKCS#8

  explicit CertSpec(std::string n) : name(std::move(n)) {}
  CertSpec& rsa() { ec = false; return *this; }
  CertSpec& valid_days(int d) { days = d; return *this; }
  CertSpec& made_at(std::string when) { faketime = std::move(when); return *this; }
  CertSpec& usage(std::string ku) { key_usage = std::move(ku); return *this; }
  CertSpec& extended_usage(std::string eku) { extended_key_usage = std::move(eku); return *this; }
  CertSpec& password(std::string p) { key_password = std::move(p); return *this; }
  CertSpec& traditional() { traditional_key = true; return *this; }
};

struct CertFiles {
  std::string cert_pem;
  std::string key_pem;
  std::string cert_der;
  std::string key_der;  // PKCS#8 DER, encrypted with key_password if set
  std::string p12;      // PKCS#12 under key_password (or "p12pass" when it is empty)
  std::string fingerprint;  // as `openssl x509 -fingerprint -sha256` prints it
};

class CertFactory {
 public:
  explicit CertFactory(std::string dir) : dir_(std::move(dir)) {}
  CertFiles make(const CertSpec& spec) const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& bytes);
// Runs a shell command; throws with its output when it fails.
std::string shell(const std::string& command);

}  // namespace certsched::testing
