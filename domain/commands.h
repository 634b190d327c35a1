// The commands certsched accepts, as plain values, and what a command returns. The engine
// (engine.h) runs them; the CLI, the HTTP API and the scheduler build them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "domain/roles.h"

namespace certsched::domain {

struct CommandContext {
  std::string command_id;  // the same id again applies once and returns the first result
  std::string actor;       // e.g. "cli:alice"
  int64_t now_ns = 0;      // the clock, as the caller reads it
  // The scheduler's leader epoch on a clustered store (its fencing token): its appends are
  // refused once another node has taken over. 0 for every other command.
  uint64_t leader_epoch = 0;

  // The context of one step of this command (a run of the scheduler records several): its
  // own command id, derived from this one so that a retried run is idempotent, and the
  // same actor, clock and fencing token.
  CommandContext step(const std::string& what) const { return {command_id + "/" + what, actor, now_ns, leader_epoch}; }
};

struct CommandResult {
  uint64_t first_position = 0;
  uint64_t last_position = 0;
  bool duplicate = false;  // already applied under this command id; nothing new was written
  std::string proposal_id;
  std::vector<std::string> schedule_ids;  // schedules created or moved by the command
  std::vector<std::string> warnings;      // soft problems the operator should see
  std::vector<std::string> notes;         // e.g. partners skipped by the SSL options
};

struct InitCommand {
  std::string admin_email;
  std::string smtp_url;
  std::string mail_from;
  std::vector<uint32_t> expiry_alert_days;  // empty: the default (30, 14, 7)
};

// `options set`: each option given is changed; at least one must be.
struct SetOptionsCommand {
  std::optional<std::string> admin_email;
  std::optional<std::string> smtp_url;  // "" removes the SMTP server
  std::optional<std::string> mail_from;
  std::optional<std::vector<uint32_t>> expiry_alert_days;
};

struct ImportCertificateCommand {
  std::string alias;
  std::string cert_bytes;                   // PEM (with chain) or DER; empty with pkcs12
  std::optional<std::string> key_bytes;     // PEM or DER private key
  std::optional<std::string> pkcs12_bytes;  // instead of cert_bytes + key_bytes
  std::string password;                     // decrypts the key or bundle; never stored
  bool partner_cert = false;                // a partner's public certificate
};

struct AddPartnerCommand {
  std::string id;
  Protocol protocol = Protocol::kAS2;
  std::string email;
  bool cem = false;
  std::vector<std::pair<Role, std::string>> certificates;  // current certificate per role
  bool reuse_id = false;  // the id belonged to a removed partner, and this is a new one
};

// `partner update`: each field given is changed; at least one must be.
struct UpdatePartnerCommand {
  std::string id;
  std::optional<std::string> email;
  std::optional<Protocol> protocol;
  std::optional<bool> cem;
};

struct ConfigureListenerCommand {
  Listener listener = Listener::kHTTP;
  std::string alias;  // its server certificate (a local certificate)
  std::string dir;
  std::string reload_command;
};

struct ProposeCommand {
  std::vector<std::string> partners;
  std::vector<std::pair<Role, std::string>> roles;
  std::optional<int64_t> activate_at_ns;  // nullopt: now
  std::string password;                   // the local certificates' key password
  bool use_signing_for_encryption = false;
  bool force_ssl_client = false;
  bool force_ssl_server = false;
  bool email_partners = false;
};

}  // namespace certsched::domain
