// Installs a listener's server certificate as files, for servers such as nginx:
// DIR/cert.pem (the certificate, then its chain) and DIR/key.pem (mode 0600), then the
// listener's reload command through /bin/sh -c. The two names are symlinks into
// DIR/.certsched/current, which one rename switches to the new pair, so the certificate and
// key change together: a crash or a reader never sees one without the other. If the reload
// fails the previous pair is switched back, so the directory always matches what certsched
// records as the listener's current certificate.
#pragma once

#include <chrono>

#include "domain/listener_install.h"

namespace certsched::adapters {

class FileListenerInstaller : public domain::ListenerInstaller {
 public:
  explicit FileListenerInstaller(std::chrono::milliseconds reload_timeout = std::chrono::seconds(60))
      : reload_timeout_(reload_timeout) {}
  Status install(const domain::ListenerInstall& request) override;

 private:
  std::chrono::milliseconds reload_timeout_;
};

// Runs `command` through /bin/sh -c with stdin closed; kills it after `timeout`.
// Ok on exit status 0; otherwise an error naming the status and the end of its output.
Status run_shell_command(const std::string& command, std::chrono::milliseconds timeout);

}  // namespace certsched::adapters
