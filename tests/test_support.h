// Shared test helpers: scratch directories, raw RocksDB access for tampering, and small
// builders for append requests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "eventstore/event_store.h"

namespace certsched::testing {

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Direct RocksDB access to a closed store, as an attacker with file access would have.
class RawStore {
 public:
  explicit RawStore(const std::string& store_dir);
  ~RawStore();
  std::string get_log(uint64_t position);
  void put_log(uint64_t position, const std::string& value);
  void delete_log(uint64_t position);
  void put_stream_head(const std::string& stream, uint64_t version);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Overwrites one key of a live projection (DIR/projections), as an attacker or a bug would.
void tamper_projection(const std::string& store_dir, const std::string& projection, const std::string& key,
                       const std::string& value);

eventstore::AppendRequest one_event(const std::string& stream, eventstore::ExpectedVersion expected,
                                    const std::string& command_id,
                                    const std::string& payload = "payload");

// Frames `body` as a stored record with a valid length and checksum (and a zero hash), as a
// careful forger with file access would.
std::string forge_stored_value(const std::string& body);

std::unique_ptr<eventstore::EventStore> open_writer(const std::string& dir, bool sync = false);
std::unique_ptr<eventstore::EventStore> open_reader(const std::string& dir);

}  // namespace certsched::testing
