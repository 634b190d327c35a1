// serve's mail: a thread of its own delivers the notification outbox, so that a slow or
// hung SMTP server delays only mail. It takes serve's engine lock to read the outbox and to
// record each outcome, never while a message is being sent; it sleeps until the outbox's
// next retry, or until woken by new work.
#pragma once

#include <functional>
#include <mutex>
#include <thread>

#include "adapters/call_limits.h"
#include "adapters/wakeup.h"
#include "domain/engine.h"
#include "projections/notification_outbox.h"

namespace certsched::adapters {

class MailWorker {
 public:
  // `failed` is called, from the worker's thread, if recording an outcome fails (the store
  // failed); the worker then stops. Mail goes out only while `lease` leads: on a clustered
  // store, one node sends it.
  MailWorker(domain::Engine& engine, projections::NotificationOutbox& outbox, std::mutex& engine_mu,
             const eventstore::SchedulerLease& lease, CallLimits limits, std::function<void(const Status&)> failed);
  // Stops and joins the thread; a send in flight ends when `limits.abandon` is set.
  ~MailWorker();

  void wake() { wakeup_.notify(); }

 private:
  void run();

  domain::Engine& engine_;
  projections::NotificationOutbox& outbox_;
  std::mutex& engine_mu_;
  const eventstore::SchedulerLease& lease_;
  CallLimits limits_;
  std::function<void(const Status&)> failed_;
  Wakeup wakeup_;
  std::thread thread_;
};

}  // namespace certsched::adapters
