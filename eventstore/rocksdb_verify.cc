#include "eventstore/rocksdb_event_store.h"

#include "base/byte_io.h"
#include "base/read_ahead.h"
#include "eventstore/record_format.h"
#include "eventstore/stream_table.h"

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

  VerifyReport report;
  std::string head_value;
  rocksdb::Status hs = db_->Get(ro, meta(), kMetaHead, &head_value);
  uint64_t head_position = 0;
  ChainHash head_hash = kGenesisHash;
  if (hs.ok() && head_value.size() == 8 + sizeof(ChainHash)) {
    head_position = base::load_u64(head_value.data());
    std::memcpy(head_hash.data(), head_value.data() + 8, sizeof(ChainHash));
  } else if (hs.ok()) {
    report.first_bad_position = 0;
    report.problem = "the head record is malformed";
  } else if (!hs.IsNotFound()) {
    return base::status_from_rocksdb(hs, "read head");
  }
  report.head_hash_hex = to_hex(head_hash);
  if (!report.problem.empty()) return report;

  bool failed = false;
  auto fail = [&](uint64_t position, std::string problem) {
    report.first_bad_position = position;
    report.problem = std::move(problem);
    failed = true;
    return Status::Ok();  // corruption is reported, not an error
  };

  // Keyed by a 64-bit hash of the stream name. Two names with one hash (about one chance
  // in 10^7 with a million streams) would show as a version jump, a false alarm.
  StreamTable streams(std::min<uint64_t>(head_position, uint64_t{1} << 22) / 4);
  const std::hash<std::string_view> stream_hash;
  ChainHash previous = kGenesisHash;
  uint64_t expected = 1;
  std::vector<RecordedEvent> run;  // one for the walk: its strings keep their capacity from run to run
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, log()));
  it->SeekToFirst();
  // Verifies runs until the log ends, a run fails (`failed`), or `batch` holds `limit`
  // events; the verified runs' events are moved into `batch` (if any) from index `*n` on.
  auto walk = [&](std::vector<RecordedEvent>* batch, size_t* n, size_t limit) -> Status {
    for (; it->Valid() && *n < limit; it->Next()) {
      if (it->key().size() != 8) return fail(expected, "malformed log key");
      const uint64_t position = base::load_u64(it->key().data());
      if (position != expected) {
        if (expected > head_position) {
          return fail(expected, "record at position " + std::to_string(position) +
                                    " lies beyond the head at " + std::to_string(head_position));
        }
        return fail(expected, "record at position " + std::to_string(expected) + " is missing");
      }
      StoredValue sv;
      Status st = parse_stored_value(std::string_view(it->value().data(), it->value().size()),
                                     position, &sv);
      if (!st.ok()) return fail(position, st.message());
      // Decoded first, so that the stream's slot in the table comes from memory while the
      // hash is computed; a broken chain is still reported before a run that does not decode.
      const Status decoded = decode_events(sv, position, &run);
      const uint64_t stream_key = decoded.ok() ? stream_hash(run.front().stream) : 0;
      if (decoded.ok()) streams.prefetch(stream_key);
      const ChainHash computed = chain_next(previous, sv.framed_record);
      if (computed != sv.hash) {
        return fail(position, "record at position " + std::to_string(position) +
                                  ": hash chain broken (record altered, replaced or reordered)");
      }
      if (!decoded.ok()) return fail(position, decoded.message());
      // A run's events are one stream's consecutive versions: only its first can jump.
      StreamTable::Seen& seen = streams.at(stream_key);
      if (run.front().stream_version != seen.version + 1) {
        return fail(position, "record at position " + std::to_string(position) + ": stream " +
                                  run.front().stream + " jumps from version " + std::to_string(seen.version) +
                                  " to " + std::to_string(run.front().stream_version));
      }
      seen.version = run.back().stream_version;
      previous = computed;
      report.events = run.back().position;
      expected = report.events + 1;
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
          *more = st.ok() && !failed && it->Valid();
          return st;
        },
        [&](const Batch& batch) {
          for (const RecordedEvent& e : batch) CERTSCHED_RETURN_IF_ERROR(each(e));
          return Status::Ok();
        }));
  }
  if (failed) return report;
  // The tail, last: a missing end or a head that does not match.
  if (report.events > head_position) {
    (void)fail(head_position + 1, "the log's last run ends at position " + std::to_string(report.events) +
                                      ", beyond the head at " + std::to_string(head_position));
  } else if (report.events < head_position) {
    (void)fail(report.events + 1, "the log ends at position " + std::to_string(report.events) +
                                      " but its head says " + std::to_string(head_position) +
                                      " (records removed from the tail)");
  } else if (previous != head_hash) {
    (void)fail(report.events, "the head hash does not match the last record");
  }
  if (failed) return report;

  report.verified = true;
  return report;
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
