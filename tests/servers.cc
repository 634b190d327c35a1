#include "tests/servers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "tests/cert_factory.h"

extern char** environ;

namespace certsched::testing {
namespace {

void wait_for_port(int port, bool open) {
  for (int i = 0; i < 200; ++i) {
    if (port_open(port) == open) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  throw std::runtime_error("port " + std::to_string(port) + (open ? " never opened" : " never closed"));
}

}  // namespace

bool port_open(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

NginxServer::NginxServer(const std::string& prefix, const std::string& cert_dir)
    : prefix_(prefix), conf_(prefix + "/nginx.conf"), port_(free_port()) {
  std::filesystem::create_directories(prefix_ + "/logs");
  write_file(conf_,
             "daemon on;\n"
             "pid " + prefix_ + "/nginx.pid;\n"
             "error_log " + prefix_ + "/logs/error.log notice;\n"  // notice: reloads are logged
             "events { worker_connections 64; }\n"
             "http {\n"
             "  access_log off;\n"
             "  client_body_temp_path " + prefix_ + "/tmp;\n"
             "  server {\n"
             "    listen 127.0.0.1:" + std::to_string(port_) + " ssl;\n"
             "    ssl_certificate " + cert_dir + "/cert.pem;\n"
             "    ssl_certificate_key " + cert_dir + "/key.pem;\n"
             "    location / { return 200 'certsched test\\n'; }\n"
             "  }\n"
             "}\n");
}

void NginxServer::start() {
  shell("/usr/sbin/nginx -p " + prefix_ + " -c " + conf_ + " -e " + prefix_ + "/logs/error.log");
  running_ = true;
  wait_for_port(port_, true);
}

std::string NginxServer::reload_command() const {
  return "/usr/sbin/nginx -p " + prefix_ + " -c " + conf_ + " -e " + prefix_ + "/logs/error.log -s reload";
}

void NginxServer::wait_for_reloads(int reloads) const {
  auto count = [](const std::string& text, const std::string& line) {
    int n = 0;
    for (size_t at = text.find(line); at != std::string::npos; at = text.find(line, at + 1)) ++n;
    return n;
  };
  for (int i = 0; i < 400; ++i) {
    const std::string log = read_file(prefix_ + "/logs/error.log");
    // One "start worker processes" at start and one per reload; each reload's old workers
    // log "gracefully shutting down" once they stop accepting.
    if (count(log, "start worker processes") >= reloads + 1 && count(log, "gracefully shutting down") >= reloads) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  throw std::runtime_error("nginx did not finish " + std::to_string(reloads) + " reload(s) in 10 s");
}

NginxServer::~NginxServer() {
  if (!running_) return;
  try {
    shell("/usr/sbin/nginx -p " + prefix_ + " -c " + conf_ + " -e " + prefix_ + "/logs/error.log -s stop");
    wait_for_port(port_, false);
  } catch (...) {
  }
}

std::string tls_fingerprint(int port) {
  try {
    const std::string out = shell("echo | openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                                  " 2>/dev/null | openssl x509 -noout -fingerprint -sha256");
    std::string fp = out.substr(out.find('=') + 1);
    while (!fp.empty() && (fp.back() == '\n' || fp.back() == '\r')) fp.pop_back();
    return fp;
  } catch (...) {
    return "";
  }
}

SmtpServer::SmtpServer(const std::string& maildir, int port) : maildir_(maildir), port_(port ? port : free_port()) {}

SmtpServer::~SmtpServer() { stop(); }

void SmtpServer::start() {
  // Debian's python3 (with python3-aiosmtpd), not whichever python3 is first on PATH.
  const std::string listen = "127.0.0.1:" + std::to_string(port_);
  const char* argv[] = {"/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l", listen.c_str(),
                        "-c", "aiosmtpd.handlers.Mailbox", maildir_.c_str(), nullptr};
  if (posix_spawn(&pid_, "/usr/bin/python3", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
    throw std::runtime_error("cannot start aiosmtpd");
  }
  wait_for_port(port_, true);
}

void SmtpServer::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  wait_for_port(port_, false);
}

std::vector<std::string> SmtpServer::messages() const {
  std::vector<std::pair<std::filesystem::file_time_type, std::string>> found;
  const std::filesystem::path dir = std::filesystem::path(maildir_) / "new";
  if (!std::filesystem::exists(dir)) return {};
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    found.emplace_back(e.last_write_time(), e.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (const auto& f : found) out.push_back(read_file(f.second));
  return out;
}

namespace {

constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin/";

// Runs a shell command; throws with its output when it fails.
std::string checked_shell(const std::string& command) {
  std::string out;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) throw std::runtime_error("cannot run " + command);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int rc = pclose(p);
  if (rc != 0) throw std::runtime_error(command + " failed: " + out);
  return out;
}

std::string as_postgres(const std::string& command) { return "runuser -u postgres -- " + command; }

}  // namespace

// A directory of the postgres user's own: the server refuses one it does not own.
static std::string postgres_root() {
  char path[] = "/tmp/certsched-pg-XXXXXX";
  if (!mkdtemp(path)) throw std::runtime_error("mkdtemp failed");
  checked_shell(std::string("chown postgres:postgres ") + path);
  return path;
}

PostgresServer::PostgresServer() : root_(postgres_root()), port_(free_port()) {
  checked_shell(as_postgres(std::string(kPgBin) + "initdb --no-sync -A trust -U postgres -D " + root_ +
                            "/data >/dev/null"));
}

PostgresServer::PostgresServer(StandbyOf standby) : root_(postgres_root()), port_(free_port()) {
  checked_shell(as_postgres(std::string(kPgBin) + "pg_basebackup -h 127.0.0.1 -p " + std::to_string(standby.primary.port()) +
                            " -U postgres --checkpoint=fast -D " + root_ + "/data -R -X stream"));
}

void PostgresServer::require_synchronous_standby() {
  psql("postgres", "ALTER SYSTEM SET synchronous_standby_names = '*'");
  psql("postgres", "SELECT pg_reload_conf()");
  const std::string sync = "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'";
  for (int i = 0; i < 200 && psql("postgres", sync) != "1\n"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (psql("postgres", sync) != "1\n") throw std::runtime_error("no synchronous standby streams from " + root_);
}

void PostgresServer::promote() {
  checked_shell(as_postgres(std::string(kPgBin) + "pg_ctl -D " + root_ + "/data -w promote >/dev/null"));
}

PostgresServer::~PostgresServer() {
  try {
    stop();
  } catch (...) {
  }
  std::error_code ec;
  std::filesystem::remove_all(root_, ec);
}

void PostgresServer::start() {
  checked_shell(as_postgres(std::string(kPgBin) + "pg_ctl -D " + root_ + "/data -l " + root_ +
                            "/log -w -o \"-k " + root_ + " -p " + std::to_string(port_) +
                            " -c listen_addresses=127.0.0.1\" start >/dev/null"));
  running_ = true;
}

void PostgresServer::stop() {
  if (!running_) return;
  running_ = false;
  checked_shell(as_postgres(std::string(kPgBin) + "pg_ctl -D " + root_ + "/data -m fast -w stop >/dev/null"));
}

pid_t PostgresServer::postmaster_pid() const {
  std::ifstream in(root_ + "/data/postmaster.pid");
  pid_t pid = -1;
  in >> pid;
  return pid;
}

void PostgresServer::kill9() {
  const pid_t pid = postmaster_pid();
  if (pid > 0) ::kill(pid, SIGKILL);
  running_ = false;
  wait_for_port(port_, false);
  // Its backends outlive it for a moment; a restart waits for them (pg_ctl says so).
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
}

std::string PostgresServer::uri(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PostgresServer::psql(const std::string& database, const std::string& sql) const {
  const std::string file = root_ + "/statement.sql";
  write_file(file, sql);
  return checked_shell("psql -X -q -A -t -v ON_ERROR_STOP=1 '" + uri(database) + "' -f " + file);
}

std::string PostgresServer::create_database(const std::string& name) {
  psql("postgres", "CREATE DATABASE \"" + name + "\"");
  return uri(name);
}

PostgresServer& shared_postgres() {
  static PostgresServer* server = [] {
    auto* s = new PostgresServer();
    s->start();
    std::atexit([] { delete &shared_postgres(); });
    return s;
  }();
  return *server;
}

std::string fresh_postgres_database() {
  static int counter = 0;
  return shared_postgres().create_database("t" + std::to_string(getpid()) + "_" + std::to_string(++counter));
}

}  // namespace certsched::testing
