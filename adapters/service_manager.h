// What `serve` tells its service manager (systemd, Type=notify): ready after catch-up, its
// status, watchdog pings from the scheduler loop itself (so a wedged loop is restarted), and
// stopping. Without a service manager (no NOTIFY_SOCKET) every call does nothing.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace certsched::adapters {

class ServiceManager {
 public:
  ServiceManager();
  void ready(const std::string& status) const;
  void status(const std::string& status) const;
  void watchdog() const;
  void stopping() const;
  // How long the loop may sleep between pings: half the watchdog interval; nullopt when the
  // manager runs no watchdog.
  std::optional<std::chrono::microseconds> ping_interval() const { return ping_interval_; }

 private:
  std::optional<std::chrono::microseconds> ping_interval_;
};

}  // namespace certsched::adapters
