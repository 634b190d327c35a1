#include "adapters/service_manager.h"

#include <systemd/sd-daemon.h>

namespace certsched::adapters {

ServiceManager::ServiceManager() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) ping_interval_ = std::chrono::microseconds(usec / 2);
}

void ServiceManager::ready(const std::string& status) const {
  sd_notify(0, ("READY=1\nSTATUS=" + status).c_str());
}

void ServiceManager::status(const std::string& status) const { sd_notify(0, ("STATUS=" + status).c_str()); }

void ServiceManager::watchdog() const {
  if (ping_interval_) sd_notify(0, "WATCHDOG=1");
}

void ServiceManager::stopping() const { sd_notify(0, "STOPPING=1\nSTATUS=stopping"); }

}  // namespace certsched::adapters
