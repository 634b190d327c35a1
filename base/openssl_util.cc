#include "base/openssl_util.h"

namespace certsched::base {

std::string drain_openssl_errors() {
  std::string first;
  for (unsigned long e; (e = ERR_get_error()) != 0;) {
    if (first.empty()) {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      first = buf;
    }
  }
  return first;
}

}  // namespace certsched::base
