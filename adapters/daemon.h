// `certsched serve`: the scheduler, continuously, beside the HTTP API, until SIGTERM or
// SIGINT. The scheduler sleeps until the next due instant and wakes on new events.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace certsched::adapters {

struct DaemonOptions {
  std::string store_dir;
  std::string address = "127.0.0.1";
  uint16_t port = 8640;  // 0: any free port
  std::string tls_cert_file, tls_key_file;  // both set: the API over HTTPS
};

// Runs until a stop signal (then Ok, after the requests in flight are answered) or until
// the scheduler fails (its Status). Logs to stderr.
Status run_daemon(const DaemonOptions& options);

}  // namespace certsched::adapters
