// The application core: every command certsched accepts, whoever drives it (CLI, HTTP API,
// scheduler). Each command checks the rules against the state rebuilt from the log, runs
// the affected schedules and listeners through their state machines, and appends its
// events atomically with expected stream versions and its command id. A refused command
// appends nothing and names every reason. Commands are serialised by the engine.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "domain/certificate.h"
#include "domain/state.h"
#include "eventstore/event_store.h"

namespace certsched::domain {

struct CommandContext {
  std::string command_id;  // the same id again applies once and returns the first result
  std::string actor;       // e.g. "cli:alice"
  int64_t now_ns = 0;      // the clock, as the caller reads it
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

struct Blocker {
  std::string partner;
  std::string schedule_id;  // empty when the partner has no schedule for it
  std::string reason;
};

struct ListenerReadiness {
  Listener listener = Listener::kHTTP;
  std::optional<CertRef> pending;
  std::string pending_proposal;
  bool ready = false;
  std::vector<Blocker> blockers;
  std::vector<std::string> schedule_ids;  // the schedules that activate with the install
};

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

// Sees every event after the engine's state has applied it: read models such as the
// notification outbox are fed this way, from the log only.
class EventObserver {
 public:
  virtual ~EventObserver() = default;
  virtual Status on_event(const eventstore::RecordedEvent& record, const Event& event, const DomainState& after) = 0;
  // Called when the engine has caught up with the log: a moment to flush buffered work.
  virtual Status on_caught_up() { return Status::Ok(); }
};

class Engine {
 public:
  // Replays the log into memory (and into each observer). `store_dir` holds the store key
  // and the key vault. Observers must outlive the engine.
  static Result<std::unique_ptr<Engine>> open(eventstore::EventStore& store, std::string store_dir,
                                              std::vector<EventObserver*> observers = {});

  Result<CommandResult> initialize(const InitCommand& c, const CommandContext& ctx);
  Result<CommandResult> import_certificate(const ImportCertificateCommand& c, const CommandContext& ctx);
  Result<CommandResult> add_partner(const AddPartnerCommand& c, const CommandContext& ctx);
  // With an installer, the certificate's files are installed first; if that fails, the
  // command is refused and nothing is recorded.
  Result<CommandResult> configure_listener(const ConfigureListenerCommand& c, const CommandContext& ctx,
                                           ListenerInstaller* installer = nullptr);
  Result<CommandResult> propose(const ProposeCommand& c, const CommandContext& ctx);
  Result<CommandResult> confirm(const std::string& proposal_id, const CommandContext& ctx);
  Result<CommandResult> decline(const std::string& proposal_id, const CommandContext& ctx);
  Result<CommandResult> cancel(const std::string& schedule_id, const std::string& reason, const CommandContext& ctx);
  Result<CommandResult> skip_email(const std::string& schedule_id, const std::string& reason, const CommandContext& ctx);
  Result<CommandResult> record_mail_sent(const std::string& schedule_id, const std::string& message_id, const CommandContext& ctx);
  Result<CommandResult> record_mail_failed(const std::string& schedule_id, const std::string& error, const CommandContext& ctx);
  // An admin notification was accepted by the SMTP server, or was not.
  Result<CommandResult> record_notification_delivered(const std::string& notification_id,
                                                      const std::string& message_id, const CommandContext& ctx);
  Result<CommandResult> record_notification_failed(const std::string& notification_id, const std::string& error,
                                                   const CommandContext& ctx);
  // Activates every pending schedule whose time has come, except server certificates,
  // which activate with their listener's install.
  Result<CommandResult> activate_due(const CommandContext& ctx);
  // An inbound message from `partner` used these certificates (by fingerprint): activates
  // the first-usage schedules they belong to.
  Result<CommandResult> observe_first_usage(const std::string& partner,
                                            const std::vector<std::string>& fingerprints,
                                            const CommandContext& ctx);
  Result<ListenerReadiness> listener_readiness(Listener l, int64_t now_ns);
  Result<CommandResult> install_listener(Listener l, ListenerInstaller& installer, const CommandContext& ctx);

  // Catches up with the log (another engine may have written) and returns the state.
  // The reference stays valid until the next command.
  Result<const DomainState*> state();

 private:
  Engine(eventstore::EventStore& store, std::string store_dir) : store_(store), store_dir_(std::move(store_dir)) {}
  Status catch_up();
  // Applies records[i], decoded as events[i], to the state and the observers.
  Status apply_decoded(const std::vector<eventstore::RecordedEvent>& records, const std::vector<Event>& events);
  // REQUIRES: mu_ held.
  Result<CommandResult> commit(eventstore::AppendRequest request, CommandResult result);
  Result<std::optional<CommandResult>> previous_result(const CommandContext& ctx);
  Status verify_password(const std::string& alias, const std::string& password);
  Result<ListenerInstall> install_request(Listener l, const CertificateRecord& cert, const std::string& dir,
                                          const std::string& reload_command);
  ListenerReadiness readiness_locked(Listener l, int64_t now_ns) const;
  std::vector<std::string> withdrawn_listener_changes(const std::vector<std::string>& closing) const;

  eventstore::EventStore& store_;
  std::string store_dir_;
  std::mutex mu_;
  // What the command being run asked (request_digest.h); empty for the scheduler's own
  // commands, whose ids are never reused. REQUIRES: mu_ held.
  std::string request_digest_;
  DomainState state_;
  std::vector<EventObserver*> observers_;
};

}  // namespace certsched::domain
