#include "base/status.h"

#include <cstdio>
#include <cstdlib>

namespace certsched {

const char* Status::code_name() const {
  switch (code_) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kNotFound: return "not_found";
    case Code::kConflict: return "conflict";
    case Code::kBusy: return "busy";
    case Code::kCorruption: return "corruption";
    case Code::kIOError: return "io_error";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(code_name()) + ": " + message_;
}

namespace internal {

void die_reading_value_of(const Status& status) {
  std::fprintf(stderr, "certsched: internal error: the value of a failed result was read (%s)\n",
               status.ToString().c_str());
  std::abort();
}

}  // namespace internal

}  // namespace certsched
