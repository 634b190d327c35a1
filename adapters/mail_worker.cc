#include "adapters/mail_worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "adapters/command_id.h"
#include "adapters/log_line.h"
#include "adapters/notifier.h"
#include "base/clock.h"

namespace certsched::adapters {

MailWorker::MailWorker(domain::Engine& engine, projections::NotificationOutbox& outbox, std::mutex& engine_mu,
                       const eventstore::SchedulerLease& lease, CallLimits limits,
                       std::function<void(const Status&)> failed)
    : engine_(engine), outbox_(outbox), engine_mu_(engine_mu), lease_(lease), limits_(limits),
      failed_(std::move(failed)) {
  thread_ = std::thread([this] { run(); });
}

MailWorker::~MailWorker() {
  wakeup_.stop();
  thread_.join();
}

void MailWorker::run() {
  const int64_t second_ns = 1'000'000'000;
  for (;;) {
    if (!lease_.leads()) {  // another node sends the mail; this one looks again each second
      if (!wakeup_.sleep_for_ns(second_ns)) return;
      continue;
    }
    const domain::CommandContext ctx{new_command_id(), "scheduler", base::now_ns(), lease_.epoch()};
    std::unique_lock<std::mutex> lock(engine_mu_);
    auto delivered = deliver_due(engine_, outbox_, ctx, &lock, limits_);
    auto state = engine_.state();
    const int64_t next = state.ok() ? outbox_.next_attempt_ns(*state.value()) : 0;
    lock.unlock();
    if (limits_.abandoned()) return;
    if (!delivered.ok() && eventstore::fenced(delivered.status())) {
      // Another node took over while this one was sending: its record was refused. The
      // mail itself may have gone out; the new leader sends it again with the same
      // Message-ID, which is the at-least-once the outbox promises.
      spdlog::warn("{}", one_line(delivered.status().message()));
      continue;
    }
    const Status failure = !delivered.ok() ? delivered.status() : state.status();
    if (!failure.ok() && lease_.shared() && failure.IsIOError()) {  // the database is away: waited out
      spdlog::warn("{}", one_line(failure.message()));
      if (!wakeup_.sleep_for_ns(second_ns)) return;
      continue;
    }
    if (!failure.ok()) {
      failed_(failure);
      return;
    }
    if (delivered->delivered) spdlog::info("{} notifications delivered", delivered->delivered);
    for (const auto& e : delivered->errors) spdlog::warn("{}", one_line(e));
    const int64_t hour_ns = int64_t{3600} * 1'000'000'000;
    if (!wakeup_.sleep_for_ns(next == 0 ? hour_ns : std::max<int64_t>(next - base::now_ns(), 0))) return;
  }
}

}  // namespace certsched::adapters
