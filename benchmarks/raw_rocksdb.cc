#include "benchmarks/raw_rocksdb.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <vector>

#include "benchmarks/figure.h"

namespace certsched::bench::raw {
namespace {

void check(const rocksdb::Status& s, const char* what) {
  if (!s.ok()) throw std::runtime_error(std::string("raw RocksDB ") + what + ": " + s.ToString());
}

// The database-wide options certsched's store sets; RocksDB's defaults otherwise. certsched's
// per-column-family tuning is its own work, and is measured with it.
rocksdb::Options base_options() {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.max_open_files = -1;
  o.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  o.keep_log_file_num = 3;
  return o;
}

std::unique_ptr<rocksdb::DB> open_fresh(const std::string& dir) {
  rocksdb::DB* db = nullptr;
  check(rocksdb::DB::Open(base_options(), dir, &db), "open");
  return std::unique_ptr<rocksdb::DB>(db);
}

std::string key_of(uint64_t n) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i, n >>= 8) k[i] = static_cast<char>(n & 0xff);
  return k;
}

}  // namespace

struct Writer::Impl {
  std::unique_ptr<rocksdb::DB> db;
  std::string value;
  std::atomic<uint64_t> next_key{0};
};

Writer::Writer(const std::string& dir, size_t value_size) : impl_(new Impl) {
  impl_->db = open_fresh(dir);
  impl_->value.assign(value_size, 'v');
}

Writer::~Writer() = default;

double Writer::single_puts(int threads, size_t puts_per_thread, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return seconds_of_writers(threads, puts_per_thread, [&] {
    rocksdb::WriteBatch batch;
    batch.Put(key_of(impl_->next_key++), impl_->value);
    check(impl_->db->Write(wo, &batch), "put");
  });
}

double Writer::batched_puts(size_t batches, size_t batch_size) {
  rocksdb::WriteOptions wo;
  wo.sync = false;
  Stopwatch clock;
  for (size_t b = 0; b < batches; ++b) {
    rocksdb::WriteBatch batch;
    for (size_t i = 0; i < batch_size; ++i) batch.Put(key_of(impl_->next_key++), impl_->value);
    check(impl_->db->Write(wo, &batch), "batch");
  }
  return clock.seconds();
}

double Writer::writes_per_group() const {
  std::string stats;
  if (!impl_->db->GetProperty("rocksdb.dbstats", &stats)) return 0;
  // "Cumulative writes: 5000 writes, 5000 keys, 300 commit groups, 16.7 writes per commit group, ..."
  const std::string tail = " writes per commit group";
  const size_t end = stats.find(tail);
  if (end == std::string::npos) return 0;
  const size_t start = stats.rfind(' ', end - 1);
  return std::atof(stats.substr(start + 1, end - start - 1).c_str());
}

namespace {

struct ReadOnlyDb {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::ColumnFamilyHandle* wanted = nullptr;
  ~ReadOnlyDb() {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  }
};

void open_read_only(const std::string& dir, const std::string& cf, ReadOnlyDb& out) {
  std::vector<std::string> names;
  rocksdb::Options o = base_options();
  check(rocksdb::DB::ListColumnFamilies(o, dir, &names), "list column families");
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions(o));
  rocksdb::DB* db = nullptr;
  check(rocksdb::DB::OpenForReadOnly(o, dir, cfs, &out.handles, &db), "open read-only");
  out.db.reset(db);
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == cf) out.wanted = out.handles[i];
  }
  if (!out.wanted) throw std::runtime_error("raw RocksDB: no column family " + cf + " in " + dir);
}

}  // namespace

double iterate(const std::string& db_dir, const std::string& column_family, size_t* entries) {
  ReadOnlyDb in;
  open_read_only(db_dir, column_family, in);
  Stopwatch clock;
  size_t n = 0;
  uint64_t touched = 0;
  std::unique_ptr<rocksdb::Iterator> it(in.db->NewIterator(rocksdb::ReadOptions(), in.wanted));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const rocksdb::Slice v = it->value();
    for (size_t i = 0; i < v.size(); ++i) touched += static_cast<unsigned char>(v[i]);
    ++n;
  }
  check(it->status(), "iterate");
  const double s = clock.seconds();
  if (entries) *entries = n;
  // Keeps the byte walk from being optimised away.
  if (touched == 1) std::fputs("", stderr);
  return double(n) / s;
}

double copy_batched(const std::string& db_dir, const std::string& column_family, const std::string& out_dir,
                    size_t batch_size) {
  ReadOnlyDb in;
  open_read_only(db_dir, column_family, in);
  auto out = open_fresh(out_dir);
  Stopwatch clock;
  size_t n = 0;
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(in.db->NewIterator(rocksdb::ReadOptions(), in.wanted));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    batch.Put(it->key(), it->value());
    if (++n % batch_size == 0) {
      check(out->Write(rocksdb::WriteOptions(), &batch), "batch");
      batch.Clear();
    }
  }
  check(it->status(), "iterate");
  check(out->Write(rocksdb::WriteOptions(), &batch), "batch");
  return double(n) / clock.seconds();
}

}  // namespace certsched::bench::raw
