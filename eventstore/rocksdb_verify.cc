#include "eventstore/rocksdb_event_store.h"

#include "base/byte_io.h"
#include "base/read_ahead.h"
#include "eventstore/record_format.h"
#include "eventstore/log_walk.h"

namespace certsched::eventstore::internal {
namespace {

// One pass over the whole log. The writer may append meanwhile: a snapshot keeps head and
// log in agreement. (Secondary instances do not support snapshots, but they only change on
// refresh().) Blocks are not cached: one pass would only evict what is.
struct WholeLogRead {
  WholeLogRead(rocksdb::DB* db, bool read_only) : db_(db) {
    options.fill_cache = false;
    options.snapshot = read_only ? nullptr : db->GetSnapshot();
  }
  ~WholeLogRead() {
    if (options.snapshot) db_->ReleaseSnapshot(options.snapshot);
  }
  WholeLogRead(const WholeLogRead&) = delete;
  WholeLogRead& operator=(const WholeLogRead&) = delete;
  rocksdb::ReadOptions options;

 private:
  rocksdb::DB* db_;
};

}  // namespace

Result<VerifyReport> RocksDbEventStore::verify(const std::function<Status(const RecordedEvent&)>& each) {
  const WholeLogRead read(db_, read_only());
  const rocksdb::ReadOptions& ro = read.options;

  std::string head_value;
  rocksdb::Status hs = db_->Get(ro, meta(), kMetaHead, &head_value);
  uint64_t head_position = 0;
  ChainHash head_hash = kGenesisHash;
  if (hs.ok() && head_value.size() == 8 + sizeof(ChainHash)) {
    head_position = base::load_u64(head_value.data());
    std::memcpy(head_hash.data(), head_value.data() + 8, sizeof(ChainHash));
  } else if (!hs.ok() && !hs.IsNotFound()) {
    return base::status_from_rocksdb(hs, "read head");
  }
  LogWalk walk_state(head_position, head_hash);
  if (hs.ok() && head_value.size() != 8 + sizeof(ChainHash)) {
    walk_state.fail(0, "the head record is malformed");
    return walk_state.finish();
  }

  std::vector<RecordedEvent> run;  // one for the walk: its strings keep their capacity from run to run
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, log()));
  it->SeekToFirst();
  // Verifies runs until the log ends, a run fails, or `batch` holds `limit` events; the
  // verified runs' events are moved into `batch` (if any) from index `*n` on.
  auto walk = [&](std::vector<RecordedEvent>* batch, size_t* n, size_t limit) -> Status {
    for (; it->Valid() && *n < limit; it->Next()) {
      if (it->key().size() != 8) {
        walk_state.fail(walk_state.next_position(), "malformed log key");
        return Status::Ok();
      }
      const uint64_t position = base::load_u64(it->key().data());
      if (!walk_state.step(position, std::string_view(it->value().data(), it->value().size()), &run)) {
        return Status::Ok();  // corruption is reported, not an error
      }
      if (!batch) continue;
      for (RecordedEvent& e : run) {
        if (*n == batch->size()) batch->emplace_back();
        std::swap((*batch)[(*n)++], e);  // the strings' capacity goes round
      }
    }
    return base::status_from_rocksdb(it->status(), "walk log");
  };

  if (!each) {
    size_t none = 0;
    CERTSCHED_RETURN_IF_ERROR(walk(nullptr, &none, SIZE_MAX));
  } else {
    // The walk (reading, hashing, decoding) runs a batch ahead of `each` on a second core.
    using Batch = std::vector<RecordedEvent>;
    CERTSCHED_RETURN_IF_ERROR(base::read_ahead<Batch>(
        [&](Batch* batch, bool* more) {
          size_t n = 0;
          Status st = walk(batch, &n, kVerifyBatchEvents);
          batch->resize(n);
          *more = st.ok() && !walk_state.failed() && it->Valid();
          return st;
        },
        [&](const Batch& batch) {
          for (const RecordedEvent& e : batch) CERTSCHED_RETURN_IF_ERROR(each(e));
          return Status::Ok();
        }));
  }
  return walk_state.finish();
}

Status RocksDbEventStore::for_each_record(const std::function<Status(const StoredRecord&)>& each) {
  const WholeLogRead read(db_, read_only());
  const rocksdb::ReadOptions& ro = read.options;
  std::string head_value;
  const rocksdb::Status hs = db_->Get(ro, meta(), kMetaHead, &head_value);
  if (hs.IsNotFound()) return Status::Ok();
  CERTSCHED_RETURN_IF_ERROR(base::status_from_rocksdb(hs, "read head"));
  if (head_value.size() != 8 + sizeof(ChainHash)) return Status::Corruption("the head record is malformed");
  const uint64_t head_position = base::load_u64(head_value.data());
  ChainHash previous = kGenesisHash;
  uint64_t expected = 1;
  StoredRecord record;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, log()));
  for (it->SeekToFirst(); it->Valid() && expected <= head_position; it->Next()) {
    const uint64_t position = it->key().size() == 8 ? base::load_u64(it->key().data()) : 0;
    if (position != expected) return Status::Corruption("record at position " + std::to_string(expected) + " is missing");
    StoredValue sv;
    CERTSCHED_RETURN_IF_ERROR(parse_stored_value(std::string_view(it->value().data(), it->value().size()), position, &sv));
    const ChainHash computed = chain_next(previous, sv.framed_record);
    if (computed != sv.hash) {
      return Status::Corruption("record at position " + std::to_string(position) + ": hash chain broken");
    }
    CERTSCHED_RETURN_IF_ERROR(decode_events(sv, position, &record.events));
    record.framed.assign(sv.framed_record);
    record.chain_hash_hex = to_hex(computed);
    CERTSCHED_RETURN_IF_ERROR(each(record));
    previous = computed;
    expected = record.events.back().position + 1;
  }
  CERTSCHED_RETURN_IF_ERROR(base::status_from_rocksdb(it->status(), "walk log"));
  if (expected != head_position + 1) return Status::Corruption("the log ends before its head at " + std::to_string(head_position));
  return Status::Ok();
}

}  // namespace certsched::eventstore::internal

namespace certsched::eventstore {

Status decode_framed_record(std::string_view framed, uint64_t position, std::vector<RecordedEvent>* events) {
  std::string value(framed);
  value.append(sizeof(ChainHash), '\0');  // the chain is checked by the caller
  StoredValue sv;
  CERTSCHED_RETURN_IF_ERROR(parse_stored_value(value, position, &sv));
  CERTSCHED_RETURN_IF_ERROR(decode_events(sv, position, events));
  if (events->empty() || events->front().position != position) {
    return Status::Corruption("record at position " + std::to_string(position) + " does not start there");
  }
  return Status::Ok();
}

}  // namespace certsched::eventstore
