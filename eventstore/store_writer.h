// Who holds a store for writing right now, as its writer lock names it: "pid N on HOST
// (WHAT, since INSTANT)", where WHAT is "certsched serve, API on URL" for a serve. The CLI
// reads it to send a write command to that serve instead of failing.
#pragma once

#include <optional>
#include <string>

#include "base/status.h"

namespace certsched::eventstore {

// nullopt when nobody holds the store (or it has no lock file: it is not a store yet).
Result<std::optional<std::string>> store_writer(const std::string& dir);

}  // namespace certsched::eventstore
