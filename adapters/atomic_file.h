// Replacing a file so that readers see the old bytes or the new ones, never a mixture:
// write a temp file beside it (created with its final mode), fsync it, rename it over the
// old one, then fsync the directory so the rename itself survives a crash.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "eventstore/status.h"

namespace certsched::adapters {

Status write_file_atomically(const std::string& path, const std::string& bytes, mode_t mode);

// The file's bytes, or nullopt if it does not exist.
Result<std::optional<std::string>> read_file_if_exists(const std::string& path);

}  // namespace certsched::adapters
