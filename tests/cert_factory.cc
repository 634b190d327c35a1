#include "tests/cert_factory.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace certsched::testing {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string shell(const std::string& command) {
  std::string out;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) throw std::runtime_error("cannot run: " + command);
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = pclose(p);
  if (status != 0) throw std::runtime_error("command failed (" + std::to_string(status) + "): " + command + "\n" + out);
  return out;
}

CertFiles CertFactory::make(const CertSpec& s) const {
  const std::string base = dir_ + "/" + s.name;
  CertFiles f{base + ".crt", base + ".key", base + ".der", base + ".key.der", base + ".p12", ""};
  const std::string when = s.faketime.empty() ? "" : "faketime '" + s.faketime + "' ";
  const std::string newkey = s.ec ? "-newkey ec -pkeyopt ec_paramgen_curve:P-256" : "-newkey rsa:2048";
  std::string ext = " -addext 'keyUsage=critical," + s.key_usage + "'";
  if (!s.extended_key_usage.empty()) ext += " -addext 'extendedKeyUsage=" + s.extended_key_usage + "'";
  shell(when + "openssl req -x509 " + newkey + " -nodes -keyout " + base + ".plain.key -out " + f.cert_pem +
        " -days " + std::to_string(s.days) + " -subj '/CN=" + s.name + "/O=certsched tests'" + ext);
  shell("openssl x509 -in " + f.cert_pem + " -outform DER -out " + f.cert_der);
  const std::string p12pass = s.key_password.empty() ? "p12pass" : s.key_password;
  shell("openssl pkcs12 -export -in " + f.cert_pem + " -inkey " + base + ".plain.key -passout pass:" + p12pass +
        " -out " + f.p12);
  if (s.key_password.empty()) {
    shell("cp " + base + ".plain.key " + f.key_pem);
    shell("openssl pkcs8 -topk8 -nocrypt -in " + f.key_pem + " -outform DER -out " + f.key_der);
  } else if (s.traditional_key) {
    shell("openssl " + std::string(s.ec ? "ec" : "rsa") + " -in " + base + ".plain.key -traditional -aes256 -passout pass:" +
          s.key_password + " -out " + f.key_pem);
    shell("openssl pkcs8 -topk8 -in " + base + ".plain.key -v2 aes-256-cbc -passout pass:" + s.key_password +
          " -outform DER -out " + f.key_der);
  } else {
    shell("openssl pkcs8 -topk8 -in " + base + ".plain.key -v2 aes-256-cbc -passout pass:" + s.key_password +
          " -out " + f.key_pem);
    shell("openssl pkcs8 -topk8 -in " + base + ".plain.key -v2 aes-256-cbc -passout pass:" + s.key_password +
          " -outform DER -out " + f.key_der);
  }
  const std::string fp = shell("openssl x509 -in " + f.cert_pem + " -noout -fingerprint -sha256");
  f.fingerprint = fp.substr(fp.find('=') + 1);
  while (!f.fingerprint.empty() && (f.fingerprint.back() == '\n' || f.fingerprint.back() == '\r')) f.fingerprint.pop_back();
  std::remove((base + ".plain.key").c_str());
  return f;
}

}  // namespace certsched::testing
