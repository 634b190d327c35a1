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

}  // namespace certsched::testing
