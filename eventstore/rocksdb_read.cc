#include "eventstore/rocksdb_event_store.h"

#include <algorithm>

#include "base/byte_io.h"
#include "eventstore/record_format.h"

namespace certsched::eventstore::internal {

Status RocksDbEventStore::decode_value(const rocksdb::Iterator& log, uint64_t position,
                                       std::vector<RecordedEvent>* events) {
  StoredValue sv;
  CERTSCHED_RETURN_IF_ERROR(parse_stored_value(std::string_view(log.value().data(), log.value().size()), position, &sv));
  return decode_events(sv, position, events);
}

Status RocksDbEventStore::read_run(rocksdb::Iterator& log, uint64_t position, std::vector<RecordedEvent>* events) {
  log.SeekForPrev(base::encode_u64(position));
  CERTSCHED_RETURN_IF_ERROR(base::status_from_rocksdb(log.status(), "read position " + std::to_string(position)));
  const bool found = log.Valid() && log.key().size() == 8;
  const uint64_t first = found ? base::load_u64(log.key().data()) : 0;
  if (found) CERTSCHED_RETURN_IF_ERROR(decode_value(log, first, events));
  if (!found || position - first >= events->size()) {
    return Status::Corruption("record at position " + std::to_string(position) + " is missing");
  }
  return Status::Ok();
}

Result<std::vector<RecordedEvent>> RocksDbEventStore::read_stream(const std::string& stream,
                                                                  uint64_t from_version,
                                                                  size_t max_count) {
  std::vector<RecordedEvent> out;
  rocksdb::ReadOptions ro;
  std::string upper = stream;
  upper.push_back('\x01');
  rocksdb::Slice upper_slice(upper);  // must outlive the iterator
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, stream_index()));
  std::unique_ptr<rocksdb::Iterator> records(db_->NewIterator(rocksdb::ReadOptions(), log()));
  std::vector<RecordedEvent> stored;  // the run last read: the versions that follow are usually in it
  uint64_t expected = from_version == 0 ? 1 : from_version;
  // The first run that ends at or after the first version wanted.
  for (it->Seek(stream_index_key(stream, expected)); it->Valid() && out.size() < max_count;
       it->Next()) {
    CERTSCHED_ASSIGN_OR_RETURN(auto indexed, indexed_run(*it, stream));
    if (indexed.first_version > expected) {
      return Status::Corruption("stream " + stream + " version " + std::to_string(expected) +
                                " is missing from the stream index");
    }
    for (; expected <= indexed.last_version && out.size() < max_count; ++expected) {
      const uint64_t position = indexed.position_of(expected);
      if (stored.empty() || position < stored.front().position || position > stored.back().position) {
        CERTSCHED_RETURN_IF_ERROR(read_run(*records, position, &stored));
      }
      const RecordedEvent& e = stored[position - stored.front().position];
      if (e.stream != stream || e.stream_version != expected) {
        return Status::Corruption("stream " + stream + " version " + std::to_string(expected) +
                                  " does not match the record at position " +
                                  std::to_string(position));
      }
      out.push_back(e);
    }
  }
  CERTSCHED_RETURN_IF_ERROR(base::status_from_rocksdb(it->status(), "read stream " + stream));
  return out;
}

Result<uint64_t> RocksDbEventStore::stream_version(const std::string& stream) {
  std::unique_ptr<rocksdb::Iterator> index(db_->NewIterator(rocksdb::ReadOptions(), stream_index()));
  return indexed_version(*index, stream);
}

Status RocksDbEventStore::read_all(uint64_t from_position, size_t max_count,
                                   std::vector<RecordedEvent>* out) {
  size_t n = 0;
  uint64_t expected = from_position == 0 ? 1 : from_position;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log()));
  // The run holding the first position wanted may begin before it.
  it->SeekForPrev(base::encode_u64(expected));
  if (!it->Valid() && it->status().ok()) it->SeekToFirst();
  std::vector<RecordedEvent> run;
  for (bool first_run = true; it->Valid() && n < max_count; it->Next(), first_run = false) {
    if (it->key().size() != 8) return Status::Corruption("malformed log key");
    const uint64_t first = base::load_u64(it->key().data());
    if (first > expected || (!first_run && first != expected)) {
      return Status::Corruption("record at position " + std::to_string(expected) + " is missing");
    }
    CERTSCHED_RETURN_IF_ERROR(decode_value(*it, first, &run));
    for (; expected - first < run.size() && n < max_count; ++expected, ++n) {
      if (n == out->size()) out->emplace_back();
      std::swap((*out)[n], run[expected - first]);  // the strings' capacity goes round
    }
  }
  CERTSCHED_RETURN_IF_ERROR(base::status_from_rocksdb(it->status(), "read log"));
  out->resize(n);
  return Status::Ok();
}

Result<Head> RocksDbEventStore::head() {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta(), kMetaHead, &v);
  if (s.IsNotFound()) return Head{0, to_hex(kGenesisHash)};
  CERTSCHED_RETURN_IF_ERROR(base::status_from_rocksdb(s, "read head"));
  if (v.size() != 8 + sizeof(ChainHash)) return Status::Corruption("head record is malformed");
  ChainHash h;
  std::memcpy(h.data(), v.data() + 8, h.size());
  return Head{base::load_u64(v.data()), to_hex(h)};
}

Status RocksDbEventStore::refresh() {
  if (!read_only()) return Status::Ok();
  CERTSCHED_RETURN_IF_ERROR(base::status_from_rocksdb(db_->TryCatchUpWithPrimary(), "catch up with the writer"));
  CERTSCHED_ASSIGN_OR_RETURN(auto h, head());
  {
    std::lock_guard<std::mutex> l(notify_mu_);
    committed_position_ = h.position;
  }
  notify_cv_.notify_all();
  return Status::Ok();
}

}  // namespace certsched::eventstore::internal
