// serve's listener installs: each runs in a thread of its own, so that writing the files
// and a slow or hung reload command delay nothing else. The request is prepared and the
// outcome recorded under serve's engine lock; the install itself runs without it.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "adapters/call_limits.h"
#include "domain/engine.h"

namespace certsched::adapters {

class ListenerInstalls {
 public:
  // `recorded` is called, from an install's thread, once its outcome is in the log; `failed`
  // if recording it failed (the store failed).
  ListenerInstalls(domain::Engine& engine, std::mutex& engine_mu, domain::ListenerInstaller& installer,
                   CallLimits limits, std::function<void()> recorded, std::function<void(const Status&)> failed)
      : engine_(engine), engine_mu_(engine_mu), installer_(installer), limits_(limits),
        recorded_(std::move(recorded)), failed_(std::move(failed)) {}
  // Joins every install; one in flight ends when `limits.abandon` is set.
  ~ListenerInstalls();

  // Starts installing listener `l`'s pending certificate, unless an install of `l` is
  // already running. REQUIRES: the engine lock held.
  Status start(domain::Listener l, const domain::CommandContext& ctx);

 private:
  struct Running {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void install(const domain::ListenerInstall& request, const domain::CommandContext& ctx);

  domain::Engine& engine_;
  std::mutex& engine_mu_;
  domain::ListenerInstaller& installer_;
  CallLimits limits_;
  std::function<void()> recorded_;
  std::function<void(const Status&)> failed_;
  std::mutex mu_;                      // guards what follows
  std::set<domain::Listener> busy_;    // listeners being installed
  std::list<std::unique_ptr<Running>> threads_;
};

}  // namespace certsched::adapters
