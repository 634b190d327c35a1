// Shared test helpers: scratch directories, raw RocksDB access for tampering, and small
// builders for append requests.
#pragma once

#include <map>
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

// The regular files in `dir` (0 if there is no such directory), such as a store's sealed keys.
size_t files_in(const std::string& dir);

// Direct RocksDB access to a closed store, as an attacker with file access would have.
class RawStore {
 public:
  explicit RawStore(const std::string& store_dir);
  ~RawStore();
  // Any key of any column family, as a careless tool or an attacker would reach it.
  std::string get(const std::string& column_family, const std::string& key);
  void put(const std::string& column_family, const std::string& key, const std::string& value);
  void erase(const std::string& column_family, const std::string& key);
  // The log's record at `position`.
  std::string get_log(uint64_t position);
  void put_log(uint64_t position, const std::string& value);
  void delete_log(uint64_t position);
  // Rewrites the log as formats 1 and 2 wrote it: one event per value (frame version 1),
  // chained again from the first, with the head to match.
  void rewrite_log_as_single_events();
  // Turns the store into what format 1 wrote: the log as above, each stream's version kept
  // under its name in a `stream_heads` column family beside the index, and format 1 in
  // meta/format.
  void make_format_1(const std::map<std::string, uint64_t>& stream_versions);
  std::vector<std::string> column_families();

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

// `n` events to `stream` in one append (a run), each payload naming `command` and its index.
eventstore::AppendRequest run_of(const std::string& stream, int n, const std::string& command);

// Frames `body` as a stored record with a valid length and checksum (and a zero hash), as a
// careful forger with file access would. Frame version 1 holds one event, 2 a run.
std::string forge_stored_value(const std::string& body, uint8_t frame_version = 1);

std::unique_ptr<eventstore::EventStore> open_writer(const std::string& dir, bool sync = false);
std::unique_ptr<eventstore::EventStore> open_reader(const std::string& dir);

}  // namespace certsched::testing
