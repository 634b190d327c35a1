// Files that hold secrets outside the event log: the store key and the API token.
// Both are created mode 0600, written in full and synced before they are used.
#pragma once

#include <string>

#include "base/status.h"

namespace certsched::adapters {

// Writes `bytes` random bytes, hex-encoded, to `path` (mode 0600), replacing any old file.
Status write_random_secret(const std::string& path, size_t bytes);

}  // namespace certsched::adapters
