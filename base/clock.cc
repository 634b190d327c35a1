#include "base/clock.h"

#include <chrono>

namespace certsched::base {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace certsched::base
