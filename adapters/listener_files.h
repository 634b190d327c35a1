// Installs a listener's server certificate as files, for servers such as nginx:
// DIR/cert.pem (the certificate, then its chain) and DIR/key.pem (mode 0600), then the
// listener's reload command through /bin/sh -c. The two names are symlinks into
// DIR/.certsched/current, which one rename switches to the new pair, so the certificate and
// key change together: a crash or a reader never sees one without the other. If the reload
// fails the previous pair is switched back, so the directory always matches what certsched
// records as the listener's current certificate.
#pragma once

#include "adapters/call_limits.h"
#include "domain/listener_install.h"

namespace certsched::adapters {

class FileListenerInstaller : public domain::ListenerInstaller {
 public:
  // `limits` bound the reload command.
  explicit FileListenerInstaller(CallLimits limits = {}) : limits_(limits) {}
  Status install(const domain::ListenerInstall& request) override;

 private:
  CallLimits limits_;
};

// Runs `command` through /bin/sh -c with stdin closed, in a process group of its own, which
// is killed when the command outlasts the limits' timeout or the limits abandon it.
// Ok on exit status 0; otherwise an error naming the status and the end of its output.
Status run_shell_command(const std::string& command, CallLimits limits);

}  // namespace certsched::adapters
