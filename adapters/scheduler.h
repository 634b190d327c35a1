// The scheduler: what `tick` runs once and `serve` runs whenever something falls due.
//   1. delivers the notification outbox (partner mail moves its schedules on);
//   2. activates pending schedules whose time has come;
//   3. installs each listener's new server certificate once every partner using it is ready
//      (retrying a failed install with backoff);
//   4. raises admin alerts for listeners blocked past their time and for schedules whose
//      partner mail was tried and is still not accepted past their time;
//   5. delivers what 2-4 raised.
// `tick` runs them in turn. `serve` runs 2 and 4 in its scheduler loop and the slow calls,
// 1, 3 and 5, in threads of their own (mail_worker.h, listener_installs.h).
#pragma once

#include <string>
#include <vector>

#include "adapters/notifier.h"
#include "domain/engine.h"
#include "projections/notification_outbox.h"

namespace certsched::adapters {

struct TickReport {
  std::vector<std::string> activated;        // schedule ids
  std::vector<std::string> installed;        // listeners
  std::vector<std::string> install_errors;
  std::vector<std::string> alerts;           // notification ids raised this run
  DeliveryReport mail;
};

// The command context of listener `l`'s install in the run `ctx`.
domain::CommandContext install_step(const domain::CommandContext& ctx, domain::Listener l);

class Scheduler {
 public:
  Scheduler(domain::Engine& engine, projections::NotificationOutbox& outbox, domain::ListenerInstaller& installer,
            CallLimits mail_limits = {})
      : engine_(engine), outbox_(outbox), installer_(installer), mail_limits_(mail_limits) {}

  // Runs everything due at ctx.now_ns once. Fails only if the store itself fails.
  Result<TickReport> run_once(const domain::CommandContext& ctx);

  // Steps 2 and 4: records the activations that are due and raises the alerts, and returns
  // in `due_installs` the listeners whose install is due (past any retry backoff).
  Result<TickReport> record_due(const domain::CommandContext& ctx, std::vector<domain::Listener>& due_installs);

  // The earliest instant after `now_ns` at which run_once may have work; 0 if none is known.
  Result<int64_t> next_due_ns(int64_t now_ns);

  // Whether the outbox has a notification to send at `now_ns` (the alerts record_due raised
  // among them).
  Result<bool> mail_due(int64_t now_ns);

 private:
  // Delivers the outbox's due notifications and adds the counts to the report.
  Status deliver(const domain::CommandContext& ctx, TickReport& report);

  domain::Engine& engine_;
  projections::NotificationOutbox& outbox_;
  domain::ListenerInstaller& installer_;
  CallLimits mail_limits_;
};

}  // namespace certsched::adapters
