#include "adapters/mail_worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "adapters/command_id.h"
#include "adapters/log_line.h"
#include "adapters/notifier.h"
#include "base/clock.h"

namespace certsched::adapters {

MailWorker::MailWorker(domain::Engine& engine, projections::NotificationOutbox& outbox, std::mutex& engine_mu,
                       CallLimits limits, std::function<void(const Status&)> failed)
    : engine_(engine), outbox_(outbox), engine_mu_(engine_mu), limits_(limits), failed_(std::move(failed)) {
  thread_ = std::thread([this] { run(); });
}

MailWorker::~MailWorker() {
  wakeup_.stop();
  thread_.join();
}

void MailWorker::run() {
  for (;;) {
    const domain::CommandContext ctx{new_command_id(), "scheduler", base::now_ns()};
    std::unique_lock<std::mutex> lock(engine_mu_);
    auto delivered = deliver_due(engine_, outbox_, ctx, &lock, limits_);
    auto state = engine_.state();
    const int64_t next = state.ok() ? outbox_.next_attempt_ns(*state.value()) : 0;
    lock.unlock();
    if (limits_.abandoned()) return;
    if (!delivered.ok() || !state.ok()) {
      failed_(delivered.ok() ? state.status() : delivered.status());
      return;
    }
    if (delivered->delivered) spdlog::info("{} notifications delivered", delivered->delivered);
    for (const auto& e : delivered->errors) spdlog::warn("{}", one_line(e));
    const int64_t hour_ns = int64_t{3600} * 1'000'000'000;
    if (!wakeup_.sleep_for_ns(next == 0 ? hour_ns : std::max<int64_t>(next - base::now_ns(), 0))) return;
  }
}

}  // namespace certsched::adapters
