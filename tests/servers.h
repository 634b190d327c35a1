// Real servers the tests start and stop: nginx serving TLS, aiosmtpd receiving mail,
// PostgreSQL holding clustered stores.
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
  pid_t pid() const { return pid_; }  // to pause it (SIGSTOP): connections wait unanswered
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  // The raw messages delivered so far, oldest first.
  std::vector<std::string> messages() const;

 private:
  std::string maildir_;
  int port_;
  pid_t pid_ = -1;
};

// Debian's PostgreSQL 15, run as the postgres user (it refuses root) from a directory of
// its own, listening on 127.0.0.1:port with trust authentication. initdb runs on the first
// start; the directory is removed with the object.
class PostgresServer {
 public:
  PostgresServer();
  ~PostgresServer();
  // A streaming standby of `primary` (which must have been made a primary and be running),
  // copied with pg_basebackup; start() starts it in recovery.
  struct StandbyOf {
    const PostgresServer& primary;
  };
  explicit PostgresServer(StandbyOf standby);
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;
  // From now on each commit waits until a standby has it on disk
  // (synchronous_standby_names = '*'); waits until a standby streams synchronously.
  void require_synchronous_standby();
  // Ends a standby's recovery: it takes writes from then on.
  void promote();
  void start();
  // pg_ctl stop -m fast.
  void stop();
  // SIGKILL to the postmaster, as a crash would: its backends die with it.
  void kill9();
  int port() const { return port_; }
  // A new, empty database, and the libpq URI of it.
  std::string create_database(const std::string& name);
  std::string uri(const std::string& database) const;
  // Runs `sql` in `database` with psql; returns its output (unaligned, tuples only).
  std::string psql(const std::string& database, const std::string& sql) const;
  pid_t postmaster_pid() const;

 private:
  std::string root_;  // owned by postgres: data/, the socket, the log
  int port_;
  bool running_ = false;
};

// The one server a test program shares, started on first use and stopped at exit.
PostgresServer& shared_postgres();
// A fresh database on it, named after the running test with a counter.
std::string fresh_postgres_database();

}  // namespace certsched::testing
