// The application core: every command certsched accepts, whoever drives it (CLI, HTTP API,
// scheduler). Each command checks the rules against the state rebuilt from the log, runs
// the affected schedules and listeners through their state machines, and appends its
// events atomically with expected stream versions and its command id. A refused command
// appends nothing and names every reason. Commands are serialised by the engine.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "domain/certificate.h"
#include "domain/commands.h"
#include "domain/event_observer.h"
#include "domain/key_vault.h"
#include "domain/listener_install.h"
#include "domain/state.h"
#include "eventstore/event_store.h"

namespace certsched::domain {

class Engine {
 public:
  // Replays the log into memory (and into each observer). `store_dir` holds the store key
  // and the key vault. Observers must outlive the engine.
  static Result<std::unique_ptr<Engine>> open(eventstore::EventStore& store, std::string store_dir,
                                              std::vector<EventObserver*> observers = {});

  Result<CommandResult> initialize(const InitCommand& c, const CommandContext& ctx);
  // Changes the system options given; each change is an audited event.
  Result<CommandResult> set_options(const SetOptionsCommand& c, const CommandContext& ctx);
  Result<CommandResult> import_certificate(const ImportCertificateCommand& c, const CommandContext& ctx);
  Result<CommandResult> add_partner(const AddPartnerCommand& c, const CommandContext& ctx);
  // Each change an audited event. A protocol that moves the partner to another listener is
  // refused while it has an open server certificate schedule.
  Result<CommandResult> update_partner(const UpdatePartnerCommand& c, const CommandContext& ctx);
  // Refused while the partner has open schedules. Its history stays; its id is added again
  // only with AddPartnerCommand::reuse_id.
  Result<CommandResult> remove_partner(const std::string& id, const std::string& reason, const CommandContext& ctx);
  // Refused while the certificate is current, scheduled or installed anywhere; a local
  // certificate's sealed key is destroyed once the removal is recorded.
  Result<CommandResult> remove_certificate(const std::string& alias, const std::string& reason,
                                           const CommandContext& ctx);
  // With an installer, the certificate's files are installed first; if that fails, the
  // command is refused and nothing is recorded.
  Result<CommandResult> configure_listener(const ConfigureListenerCommand& c, const CommandContext& ctx,
                                           ListenerInstaller* installer = nullptr);
  // The same in steps, so that the install (files and reload command, which may be slow)
  // runs without the engine: the install request once the command is valid; then the
  // record, checked again against the state as it is by then.
  Result<ListenerInstall> prepare_listener_configure(const ConfigureListenerCommand& c, int64_t now_ns);
  Result<CommandResult> record_listener_configure(const ConfigureListenerCommand& c, const CommandContext& ctx);
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
  // Raises the expiry alerts due at ctx.now_ns (expiry_alerts.h), each an event: a run
  // repeated, a restart or a replay never raises one twice.
  Result<CommandResult> raise_expiry_alerts(const CommandContext& ctx);
  // An inbound message from `partner` used these certificates (by fingerprint): activates
  // the first-usage schedules they belong to.
  Result<CommandResult> observe_first_usage(const std::string& partner,
                                            const std::vector<std::string>& fingerprints,
                                            const CommandContext& ctx);
  // A listener install in three steps, so that writing the files and reloading the server,
  // which may be slow, run without the engine: the request, for a listener whose partners
  // are all ready (Conflict if one is not); the installer; then its outcome, recorded (a
  // failure too, as ListenerInstallFailed, and returned as an IOError).
  Result<ListenerInstall> prepare_listener_install(Listener l, int64_t now_ns);
  Result<CommandResult> record_listener_install(const ListenerInstall& done, const Status& outcome,
                                                const CommandContext& ctx);
  // The three steps at once.
  Result<CommandResult> install_listener(Listener l, ListenerInstaller& installer, const CommandContext& ctx);

  // The store's sealed private keys (DIR/keys, or the clustered store's table).
  Result<KeyVault> key_vault() { return KeyVault::open(store_dir_, store_.sealed_keys()); }

  // Catches up with the log (another engine may have written) and returns the state.
  // The reference stays valid until the next command.
  Result<const DomainState*> state();
  // The state as of the engine's last read of the log, read no further: what a command's
  // answer is built from (a command reads the log up to its own events). Unlike state(), it
  // cannot fail when the store has gone away since (a clustered store's database).
  const DomainState& known_state() const { return state_; }

 private:
  Engine(eventstore::EventStore& store, std::string store_dir) : store_(store), store_dir_(std::move(store_dir)) {}
  Status catch_up();
  // Applies records[i], decoded as events[i], to the state and the observers.
  Status apply_decoded(const std::vector<eventstore::RecordedEvent>& records, const std::vector<Event>& events);
  // Runs a command's `body` with the engine locked, after catching up and answering a
  // retried command with its first result (or refusing a command id reused for another
  // request: `digest` is what this one asked, and is stored with its result). On a
  // clustered store another node may append between the body's checks and its commit:
  // the commit is then refused (the head moved) and the body runs again on the newer state.
  Result<CommandResult> serializable(const CommandContext& ctx, std::string digest,
                                     const std::function<Result<CommandResult>()>& body);
  // Appends the command's events, only if the log is still at the state they were checked
  // against. REQUIRES: mu_ held.
  Result<CommandResult> commit(eventstore::AppendRequest request, CommandResult result);
  Result<std::optional<CommandResult>> previous_result(const CommandContext& ctx);
  Status verify_password(const std::string& alias, const std::string& password);
  Result<ListenerInstall> install_request(Listener l, const CertificateRecord& cert, const std::string& dir,
                                          const std::string& reload_command);
  Status no_such_partner(const std::string& id) const;
  // Where a certificate is current, scheduled, installed or pending ("current local-signing of partner acme").
  std::vector<std::string> certificate_uses(const std::string& alias) const;
  // Destroys the sealed keys of removed certificates that are still there.
  Status destroy_removed_keys();
  std::vector<std::string> withdrawn_listener_changes(const std::vector<std::string>& closing) const;
  // Why `c` cannot be applied (all reasons); its warnings go to `warnings` if given.
  Status check_listener_configure(const ConfigureListenerCommand& c, int64_t now_ns,
                                  std::vector<std::string>* warnings) const;

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
