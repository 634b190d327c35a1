// Real servers the tests start and stop: nginx serving TLS, aiosmtpd receiving mail.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace certsched::testing {

// A free TCP port on 127.0.0.1 (bound once by the kernel, then released).
int free_port();
// Whether something accepts TCP connections on 127.0.0.1:port.
bool port_open(int port);

// nginx serving TLS on 127.0.0.1:port from cert_dir/cert.pem and cert_dir/key.pem.
class NginxServer {
 public:
  NginxServer(const std::string& prefix, const std::string& cert_dir);
  ~NginxServer();
  void start();  // REQUIRES: the certificate files exist
  std::string reload_command() const;
  // `nginx -s reload` only signals the master, which re-reads the configuration and the
  // certificate files later. Waits until `reloads` reloads since start() have been taken in
  // and the old workers have stopped accepting, so files changed afterwards are not read.
  void wait_for_reloads(int reloads) const;
  int port() const { return port_; }

 private:
  std::string prefix_, conf_;
  int port_;
  bool running_ = false;
};

// The SHA-256 fingerprint of the certificate a TLS client sees on 127.0.0.1:port, as
// `openssl x509 -fingerprint -sha256` prints it; empty if no handshake.
std::string tls_fingerprint(int port);

// Debian's aiosmtpd, storing every message it accepts in a Maildir.
class SmtpServer {
 public:
  explicit SmtpServer(const std::string& maildir, int port = 0);
  ~SmtpServer();
  void start();
  void stop();
  int port() const { return port_; }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  // The raw messages delivered so far, oldest first.
  std::vector<std::string> messages() const;

 private:
  std::string maildir_;
  int port_;
  pid_t pid_ = -1;
};

}  // namespace certsched::testing
