#include "adapters/listener_installs.h"

#include <spdlog/spdlog.h>

#include "adapters/log_line.h"
#include "base/clock.h"

namespace certsched::adapters {

ListenerInstalls::~ListenerInstalls() {
  std::list<std::unique_ptr<Running>> threads;
  {
    std::lock_guard<std::mutex> l(mu_);
    threads.swap(threads_);
  }
  for (auto& running : threads) running->thread.join();  // without mu_: each ends by taking it
}

Status ListenerInstalls::start(domain::Listener l, const domain::CommandContext& ctx) {
  std::lock_guard<std::mutex> guard(mu_);
  threads_.remove_if([](const std::unique_ptr<Running>& r) {
    if (r->done) r->thread.join();
    return r->done.load();
  });
  if (busy_.count(l)) return Status::Ok();
  auto request = engine_.prepare_listener_install(l, ctx.now_ns);
  if (!request.ok()) return request.status();
  busy_.insert(l);
  threads_.push_back(std::make_unique<Running>());
  Running* running = threads_.back().get();
  running->thread = std::thread([this, running, r = std::move(request.value()), ctx] {
    install(r, ctx);
    running->done = true;
  });
  return Status::Ok();
}

void ListenerInstalls::install(const domain::ListenerInstall& request, const domain::CommandContext& ctx) {
  const Status outcome = installer_.install(request);
  Result<domain::CommandResult> recorded = Status::IOError("abandoned");
  if (!limits_.abandoned()) {  // abandoned: not recorded, and installed again by the next serve
    std::lock_guard<std::mutex> lock(engine_mu_);
    recorded = engine_.record_listener_install(request, outcome,
                                               {ctx.command_id, ctx.actor, base::now_ns(), ctx.leader_epoch});
  }
  {
    std::lock_guard<std::mutex> guard(mu_);
    busy_.erase(request.listener);
  }
  if (limits_.abandoned()) return;
  const std::string listener = to_string(request.listener);
  if (recorded.ok()) {
    spdlog::info("installed the new server certificate on listener {}: {}", listener, request.alias);
    for (const auto& id : recorded->schedule_ids) spdlog::info("activated {}", id);
  } else if (recorded.status().IsIOError() || recorded.status().IsConflict()) {
    spdlog::warn("{}", one_line(recorded.status().message()));  // recorded, and retried with backoff
  } else {
    failed_(recorded.status());
    return;
  }
  recorded_();
}

}  // namespace certsched::adapters
