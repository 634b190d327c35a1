// Replacing a file so that readers see the old bytes or the new ones, never a mixture:
// write a temp file beside it (created with its final mode), fsync it, rename it over the
// old one, then fsync the directory so the rename itself survives a crash.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "base/status.h"

namespace certsched::base {

Status write_file_atomically(const std::string& path, const std::string& bytes, mode_t mode);

// Writes all of `bytes` to `fd`, going on after short writes and EINTR.
Status write_all(int fd, const char* bytes, size_t size, const std::string& what);

// fsyncs the directory `dir` (so that a rename or unlink in it survives a crash).
Status sync_directory(const std::string& dir);

// The file's bytes, or nullopt if it does not exist.
Result<std::optional<std::string>> read_file_if_exists(const std::string& path);

}  // namespace certsched::base
