// `certsched serve`: the scheduler, continuously, beside the HTTP API, until SIGTERM or
// SIGINT. The scheduler sleeps until the next due instant and wakes on new events; mail
// and listener installs run in threads of their own, so a hung SMTP server or reload
// command stalls neither the API nor other partners' activations.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "base/status.h"

namespace certsched::adapters {

struct DaemonOptions {
  std::string store_dir;
  std::string address = "127.0.0.1";
  uint16_t port = 8640;  // 0: any free port
  std::string tls_cert_file, tls_key_file;  // both set: the API over HTTPS
  // How long one SMTP send, and one listener's reload command, may take before it is
  // abandoned (and retried with backoff).
  std::chrono::milliseconds smtp_timeout{std::chrono::seconds(60)};
  std::chrono::milliseconds reload_timeout{std::chrono::seconds(60)};
  // Lets API clients beyond loopback set a listener's reload command (a shell command).
  bool allow_remote_reload_command = false;
};

// Runs until a stop signal (then Ok, after the requests in flight are answered) or until
// the scheduler fails (its Status). Logs to stderr.
Status run_daemon(const DaemonOptions& options);

}  // namespace certsched::adapters
