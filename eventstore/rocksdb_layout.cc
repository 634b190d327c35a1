#include "eventstore/rocksdb_layout.h"

#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>

#include <cstring>

#include "base/byte_io.h"

namespace certsched::eventstore::internal {
namespace {

// A stream index key's stream name. Keys of one stream arrive in version order, so the
// memtable can insert each right after the last one (an insert hint per stream) instead of
// searching the skip list from the top.
class StreamNamePrefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "certsched.StreamNamePrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const void* nul = std::memchr(key.data(), '\0', key.size());
    return rocksdb::Slice(key.data(), static_cast<const char*>(nul) - key.data());
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return std::memchr(key.data(), '\0', key.size()) != nullptr;
  }
};

}  // namespace

// A stream index entry covers a run: the events one append wrote to one stream, which have
// consecutive positions and versions. Its key names the run's last version; its value the
// last event's position, then the run's length when that is more than one (format 1 wrote
// an entry per event, which reads as runs of one).
std::string stream_index_key(const std::string& stream, uint64_t last_version) {
  std::string k = stream;
  k.push_back('\0');
  base::put_u64(k, last_version);
  return k;
}

std::string stream_index_value(uint64_t last_position, uint64_t events) {
  std::string v = base::encode_u64(last_position);
  if (events > 1) base::put_u64(v, events);
  return v;
}

// Reads the entry under the iterator, which must be one of `stream`'s.
Result<IndexedRun> indexed_run(const rocksdb::Iterator& it, const std::string& stream) {
  const rocksdb::Slice key = it.key(), value = it.value();
  if (key.size() != stream.size() + 9 || (value.size() != 8 && value.size() != 16)) {
    return Status::Corruption("stream index entry of " + stream + " is malformed");
  }
  IndexedRun run{0, base::load_u64(key.data() + stream.size() + 1), base::load_u64(value.data())};
  const uint64_t events = value.size() == 16 ? base::load_u64(value.data() + 8) : 1;
  if (events == 0 || events > run.last_version || events > run.last_position) {
    return Status::Corruption("stream index entry of " + stream + " names an impossible run");
  }
  run.first_version = run.last_version - events + 1;
  return run;
}


// Per column family, what makes its writes cheap; see docs/eventstore-format.md.
rocksdb::ColumnFamilyOptions column_family_options(const rocksdb::Options& db_options,
                                                   const std::string& name) {
  rocksdb::ColumnFamilyOptions o(db_options);
  if (name == kCfLog) {
    // Positions only grow: one hint for all keys turns each insert into an append.
    o.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewCappedPrefixTransform(0));
  } else if (name == kCfStreamIndex) {
    o.memtable_insert_with_hint_prefix_extractor = std::make_shared<StreamNamePrefix>();
  } else if (name == kCfCommands) {
    // Every append first looks up its command id, and the answer is almost always "absent":
    // Bloom filters answer that without searching the memtable or reading table blocks.
    o.memtable_prefix_bloom_size_ratio = 0.02;
    o.memtable_whole_key_filtering = true;
    rocksdb::BlockBasedTableOptions table;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  } else if (name == rocksdb::kDefaultColumnFamilyName) {
    // meta/head is rewritten by every append: a hint per key finds its place at once.
    o.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewNoopTransform());
  }
  return o;
}

std::string encode_head(uint64_t position, const ChainHash& hash) {
  std::string v = base::encode_u64(position);
  v.append(reinterpret_cast<const char*>(hash.data()), hash.size());
  return v;
}

}  // namespace certsched::eventstore::internal
