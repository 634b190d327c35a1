// How long one slow adapter call (an SMTP send, a listener's reload command) may take, and
// the flag that abandons the calls in flight when `serve` stops.
#pragma once

#include <atomic>
#include <chrono>

namespace certsched::adapters {

struct CallLimits {
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  // Set by serve's stop: a call in flight gives up at once and its outcome is not recorded,
  // so the work is done again by the next run (mail keeps its Message-ID).
  const std::atomic<bool>* abandon = nullptr;

  bool abandoned() const { return abandon && abandon->load(); }
};

}  // namespace certsched::adapters
