// A listener install: what the engine asks the file adapter to write, and the adapter's
// interface.
#pragma once

#include <string>

#include "base/status.h"
#include "domain/roles.h"
#include "domain/secret_bytes.h"

namespace certsched::domain {

// What a listener install writes; the file adapter does the writing.
struct ListenerInstall {
  Listener listener = Listener::kHTTP;
  std::string dir;
  std::string reload_command;
  std::string alias;
  std::string fingerprint;
  std::string cert_pem;  // the certificate, then its chain
  SecretBytes key_pem;   // unencrypted PKCS#8 PEM
};

class ListenerInstaller {
 public:
  virtual ~ListenerInstaller() = default;
  // Writes the files and reloads the server; an error leaves the old files in place.
  virtual Status install(const ListenerInstall& request) = 0;
};

}  // namespace certsched::domain
