// Where a serve thread sleeps until its next due instant: new work (an event, an alert)
// wakes it early, and a stop wakes it for good.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace certsched::adapters {

class Wakeup {
 public:
  void notify() {
    std::lock_guard<std::mutex> l(mu_);
    woken_ = true;
    cv_.notify_all();
  }
  void stop() {
    std::lock_guard<std::mutex> l(mu_);
    stopped_ = true;
    cv_.notify_all();
  }
  bool stopped() {
    std::lock_guard<std::mutex> l(mu_);
    return stopped_;
  }
  // Sleeps up to `ns`, or until notified (a notification that came before counts) or
  // stopped. False once stopped.
  bool sleep_for_ns(int64_t ns) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, std::chrono::nanoseconds(ns), [&] { return stopped_ || woken_; });
    woken_ = false;
    return !stopped_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;
  bool stopped_ = false;
};

}  // namespace certsched::adapters
