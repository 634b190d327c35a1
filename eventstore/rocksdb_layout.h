// The RocksDB layout of the embedded log (docs/eventstore-format.md): column families, meta
// keys, format versions, and the codecs of the stream index, the head and command results.
// Internal to eventstore/.
#pragma once

#ifndef CERTSCHED_INTERNAL_EVENTSTORE
#error "eventstore/rocksdb_layout.h is internal to eventstore/ (tests may look inside)"
#endif

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "eventstore/event_store.h"
#include "eventstore/hash_chain.h"

namespace certsched::eventstore::internal {

inline constexpr const char* kCfLog = "log";
inline constexpr const char* kCfStreamIndex = "stream_index";
inline constexpr const char* kCfCommands = "commands";
// Format 1 also kept each stream's version under its name here. Later formats read it from
// the stream index, which saves a write per append; opening a format 1 store for writing drops it.
inline constexpr const char* kCfFormat1StreamHeads = "stream_heads";
inline constexpr const char* kMetaFormat = "meta/format";
inline constexpr const char* kMetaHead = "meta/head";
// Format 3 stores runs (record_format.h); formats 1 and 2 stored an event per value, which
// a format 3 reader still takes, so moving a store to format 3 rewrites nothing.
inline constexpr const char* kFormatVersion = "3";
inline constexpr const char* kFormat1 = "1";
inline constexpr const char* kFormat2 = "2";
inline constexpr size_t kMaxEventsPerAppend = 1'000'000;
// Events handed from the verifying walk to its consumer at a time: enough that handing over
// costs nothing, few enough that the two threads overlap from the start.
inline constexpr size_t kVerifyBatchEvents = 2048;

// A stream index entry covers a run: the events one append wrote to one stream, which have
// consecutive positions and versions. Its key names the run's last version; its value the
// last event's position, then the run's length when that is more than one (format 1 wrote
// an entry per event, which reads as runs of one).
std::string stream_index_key(const std::string& stream, uint64_t last_version);
std::string stream_index_value(uint64_t last_position, uint64_t events);

struct IndexedRun {
  uint64_t first_version;
  uint64_t last_version;
  uint64_t last_position;
  uint64_t position_of(uint64_t version) const { return last_position - (last_version - version); }
};

// Reads the entry under the iterator, which must be one of `stream`'s.
Result<IndexedRun> indexed_run(const rocksdb::Iterator& it, const std::string& stream);

// Per column family, what makes its writes cheap; see docs/eventstore-format.md.
rocksdb::ColumnFamilyOptions column_family_options(const rocksdb::Options& db_options,
                                                   const std::string& name);

// meta/head: the last position and the hash chain's head there.
std::string encode_head(uint64_t position, const ChainHash& hash);

}  // namespace certsched::eventstore::internal
