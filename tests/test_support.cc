#include "tests/test_support.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <stdlib.h>

#include <filesystem>

#include "base/byte_io.h"
#include "eventstore/crc32c.h"
#include "eventstore/record_format.h"

namespace certsched::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "certsched-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

size_t files_in(const std::string& dir) {
  std::error_code ec;
  size_t n = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir, ec)) n += f.is_regular_file();
  return n;
}

struct RawStore::Impl {
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::ColumnFamilyHandle* named(const std::string& name) {
    for (auto* h : handles) {
      if (h->GetName() == name) return h;
    }
    throw std::runtime_error("no column family " + name);
  }
};

RawStore::RawStore(const std::string& store_dir) : impl_(std::make_unique<Impl>()) {
  rocksdb::Options options;
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(options, store_dir + "/events", &names);
  if (!s.ok()) throw std::runtime_error("raw list of column families failed: " + s.ToString());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const std::string& name : names) cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
  s = rocksdb::DB::Open(options, store_dir + "/events", cfs, &impl_->handles, &impl_->db);
  if (!s.ok()) throw std::runtime_error("raw open failed: " + s.ToString());
}

RawStore::~RawStore() {
  for (auto* h : impl_->handles) impl_->db->DestroyColumnFamilyHandle(h);
  delete impl_->db;
}

std::string RawStore::get(const std::string& column_family, const std::string& key) {
  std::string v;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->named(column_family), key, &v);
  if (!s.ok()) throw std::runtime_error("raw get failed: " + s.ToString());
  return v;
}

void RawStore::put(const std::string& column_family, const std::string& key, const std::string& value) {
  rocksdb::Status s = impl_->db->Put(rocksdb::WriteOptions(), impl_->named(column_family), key, value);
  if (!s.ok()) throw std::runtime_error("raw put failed: " + s.ToString());
}

void RawStore::erase(const std::string& column_family, const std::string& key) {
  rocksdb::Status s = impl_->db->Delete(rocksdb::WriteOptions(), impl_->named(column_family), key);
  if (!s.ok()) throw std::runtime_error("raw delete failed: " + s.ToString());
}

std::string RawStore::get_log(uint64_t position) { return get("log", base::encode_u64(position)); }

void RawStore::put_log(uint64_t position, const std::string& value) {
  put("log", base::encode_u64(position), value);
}

void RawStore::delete_log(uint64_t position) { erase("log", base::encode_u64(position)); }

void RawStore::rewrite_log_as_single_events() {
  using namespace eventstore;
  std::vector<RecordedEvent> events, run;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->named("log")));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const uint64_t position = base::load_u64(it->key().data());
    StoredValue sv;
    Status s = parse_stored_value(std::string_view(it->value().data(), it->value().size()), position, &sv);
    if (s.ok()) s = decode_events(sv, position, &run);
    if (!s.ok()) throw std::runtime_error("raw rewrite of the log: " + s.ToString());
    events.insert(events.end(), run.begin(), run.end());
    erase("log", it->key().ToString());
  }
  ChainHash hash = kGenesisHash;
  for (const RecordedEvent& e : events) {
    const std::string framed = frame_record(e);
    hash = chain_next(hash, framed);
    put_log(e.position, stored_value(framed, hash));
  }
  std::string head = base::encode_u64(events.empty() ? 0 : events.back().position);
  head.append(reinterpret_cast<const char*>(hash.data()), hash.size());
  put("default", "meta/head", head);
}

void RawStore::make_format_1(const std::map<std::string, uint64_t>& stream_versions) {
  rewrite_log_as_single_events();
  rocksdb::ColumnFamilyHandle* heads = nullptr;
  rocksdb::Status s = impl_->db->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "stream_heads", &heads);
  if (!s.ok()) throw std::runtime_error("raw create of stream_heads failed: " + s.ToString());
  impl_->handles.push_back(heads);
  for (const auto& [stream, version] : stream_versions) put("stream_heads", stream, base::encode_u64(version));
  put("default", "meta/format", "1");
}

std::vector<std::string> RawStore::column_families() {
  std::vector<std::string> names;
  for (auto* h : impl_->handles) names.push_back(h->GetName());
  return names;
}

void tamper_projection(const std::string& store_dir, const std::string& projection, const std::string& key,
                       const std::string& value) {
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const char* name : {"default", "checkpoints", "partners", "schedules", "listeners", "due", "outbox"}) {
    cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s = rocksdb::DB::Open(rocksdb::Options(), store_dir + "/projections", cfs, &handles, &db);
  if (!s.ok()) throw std::runtime_error("raw open of projections failed: " + s.ToString());
  for (size_t i = 0; i < cfs.size(); ++i) {
    if (cfs[i].name == projection) s = db->Put(rocksdb::WriteOptions(), handles[i], key, value);
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
  if (!s.ok()) throw std::runtime_error("raw put failed: " + s.ToString());
}

eventstore::AppendRequest run_of(const std::string& stream, int n, const std::string& command) {
  eventstore::AppendRequest req;
  req.writes.push_back({stream, eventstore::ExpectedVersion::Any(), {}});
  for (int i = 0; i < n; ++i) req.writes[0].events.push_back({"TestEvent", 1, command + "/" + std::to_string(i)});
  req.command_id = command;
  req.actor = "cli:alice";
  req.correlation_id = "proposal-" + command;
  return req;
}

eventstore::AppendRequest one_event(const std::string& stream, eventstore::ExpectedVersion expected,
                                    const std::string& command_id, const std::string& payload) {
  eventstore::AppendRequest req;
  req.writes.push_back({stream, expected, {{"TestEvent", 1, payload}}});
  req.command_id = command_id;
  req.actor = "test";
  return req;
}

std::string forge_stored_value(const std::string& body, uint8_t frame_version) {
  using namespace eventstore;
  std::string v;
  base::put_u32(v, static_cast<uint32_t>(body.size()));
  base::put_u8(v, frame_version);
  base::put_u32(v, crc32c(body, crc32c(std::string_view(v.data() + 4, 1))));
  v += body;
  v.append(32, '\0');
  return v;
}

std::unique_ptr<eventstore::EventStore> open_writer(const std::string& dir, bool sync) {
  eventstore::StoreOptions options;
  options.create_if_missing = true;
  options.sync = sync;
  options.holder = "certsched test";
  auto store = eventstore::open_store(dir, options);
  if (!store.ok()) throw std::runtime_error(store.status().ToString());
  return std::move(store).value();
}

std::unique_ptr<eventstore::EventStore> open_reader(const std::string& dir) {
  eventstore::StoreOptions options;
  options.mode = eventstore::OpenMode::kReadOnly;
  auto store = eventstore::open_store(dir, options);
  if (!store.ok()) throw std::runtime_error(store.status().ToString());
  return std::move(store).value();
}

}  // namespace certsched::testing
