// The scheduler: what `tick` runs once and `serve` runs whenever something falls due.
//   1. delivers the notification outbox (partner mail moves its schedules on);
//   2. activates pending schedules whose time has come;
//   3. installs each listener's new server certificate once every partner using it is ready
//      (retrying a failed install with backoff);
//   4. raises admin alerts for listeners blocked past their time and for schedules whose
//      partner mail is still not accepted past their time;
//   5. delivers what 2-4 raised.
#pragma once

#include <mutex>
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

class Scheduler {
 public:
  Scheduler(domain::Engine& engine, projections::NotificationOutbox& outbox, domain::ListenerInstaller& installer)
      : engine_(engine), outbox_(outbox), installer_(installer) {}

  // Under serve, the lock the API takes for each request: run_once holds it while it uses the
  // engine and the outbox, and releases it while mail is sent.
  void share_engine_lock(std::mutex* engine_mu) { engine_mu_ = engine_mu; }

  // Runs everything due at ctx.now_ns once. Fails only if the store itself fails.
  Result<TickReport> run_once(const domain::CommandContext& ctx);

  // The earliest instant after `now_ns` at which run_once may have work; 0 if none is known.
  Result<int64_t> next_due_ns(int64_t now_ns);

 private:
  // Delivers the outbox's due notifications and adds the counts to the report.
  Status deliver(const domain::CommandContext& ctx, TickReport& report, std::unique_lock<std::mutex>& lock);

  domain::Engine& engine_;
  projections::NotificationOutbox& outbox_;
  domain::ListenerInstaller& installer_;
  std::mutex* engine_mu_ = nullptr;
};

}  // namespace certsched::adapters
