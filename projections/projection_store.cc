#include "projections/projection_store.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_set>

#include "domain/instant.h"
#include "base/byte_io.h"
#include "base/rocksdb_database.h"
#include "base/read_ahead.h"
#include "projections/notification_outbox.h"
#include "projections/views.h"
#include "projections/json_text.h"

namespace certsched::projections {
namespace {

namespace fs = std::filesystem;
constexpr const char* kCheckpoints = "checkpoints";
// Events per projection batch while catching up; a command's events are flushed together.
// A batch holds only which rows changed (the rows are built at flush), so a large batch is
// cheap to hold, and the larger it is, the fewer times a busy row is rebuilt and written:
// a rebuild of a million-event log writes each row about once.
constexpr size_t kEventsPerBatch = size_t{1} << 20;
// Bytes of rows per WriteBatch at flush, so a flush of 250,000 rows does not hold them all.
constexpr size_t kFlushChunkBytes = size_t{4} << 20;
// A flush of this many changed rows or more builds them on a second core while writing.
constexpr size_t kRowsForASecondThread = 4096;
// Outbox rows are gathered as they change; a batch that gathered this many bytes of them
// (a long log of owed mail) is flushed early.
constexpr size_t kMaxPendingBytes = size_t{32} << 20;
// What an event changed of a schedule: its row, its due entry, its partner's pending view.
constexpr uint8_t kScheduleRow = 1, kDueRow = 2, kPartnerView = 4;
// Indexes of kProjections.
enum Projection : size_t { kPartners, kSchedules, kListeners, kDue, kOutbox, kProjectionCount };


std::string due_key(int64_t at_ns, const std::string& schedule_id) {
  std::string k = base::encode_u64(static_cast<uint64_t>(at_ns));
  return k + schedule_id;
}

}  // namespace

struct ProjectionStore::Impl {
  std::unique_ptr<base::RocksDatabase> database;
  rocksdb::DB* db = nullptr;  // database's, for brevity
  std::map<std::string, rocksdb::ColumnFamilyHandle*> cf;
  bool read_only = false;
  std::array<uint64_t, kProjectionCount> checkpoints{};  // as last written (writer only)
  // The batch being gathered: outbox rows, and the rows changed since the last flush.
  rocksdb::WriteBatch pending;
  size_t pending_events = 0;
  const domain::DomainState* state = nullptr;  // the engine's state, as of the last event
  std::unordered_set<std::string> dirty_partners;
  // Notes that partner `id`'s row changed. Looked up first: most events are for a partner
  // already noted, and inserting would build (and drop) a node each time.
  void partner_changed(std::string_view id) {
    if (dirty_partners.find(std::string(id)) == dirty_partners.end()) dirty_partners.emplace(id);
  }
  // What changed of each schedule (kScheduleRow, ...; by schedule number), and the numbers
  // changed since the last flush.
  std::vector<uint8_t> schedule_changes;
  std::vector<size_t> changed_schedules;
  std::set<domain::Listener> dirty_listeners;
  uint64_t applied = 0;
  NotificationOutbox* outbox = nullptr;
  std::set<std::string> outbox_ids;  // what the outbox projection holds
  bool outbox_in_step = false;       // outbox_ids follows the outbox's changes
};

// Writes (or deletes) one notification's outbox row. A partner mail's row is written again
// as its proposal's other schedules join it.
static void mirror(const OwedChange& change, rocksdb::ColumnFamilyHandle* outbox, rocksdb::WriteBatch& batch,
                   std::set<std::string>& outbox_ids) {
  const Notification* n = change.owed;
  if (n && n->from_log) {
    batch.Put(outbox, n->id,
                  json_text(nlohmann::json{{"id", n->id}, {"to", n->to}, {"subject", n->subject},
                                           {"to_partner", n->to_partner}, {"schedules", n->schedule_ids},
                                           {"since", domain::format_instant(n->since_ns)}}));
    outbox_ids.insert(n->id);
  } else if (outbox_ids.erase(change.id)) {
    batch.Delete(outbox, change.id);
  }
}

ProjectionStore::ProjectionStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ProjectionStore::~ProjectionStore() {
  // Nothing is flushed here: the engine flushes on catching up, and may already be gone.
  // An unflushed batch's checkpoints were not written either, so it is reapplied on open.
}

Result<std::unique_ptr<ProjectionStore>> ProjectionStore::open(const std::string& store_dir, bool read_only,
                                                               NotificationOutbox* outbox) {
  auto impl = std::make_unique<Impl>();
  impl->read_only = read_only;
  impl->outbox = outbox;
  if (outbox && !read_only) outbox->track_changes();
  const std::string dir = store_dir + "/projections";
  rocksdb::Options options;
  options.create_if_missing = !read_only;
  options.create_missing_column_families = !read_only;
  options.max_open_files = -1;
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  options.keep_log_file_num = 3;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs{{rocksdb::kDefaultColumnFamilyName, {}}, {kCheckpoints, {}}};
  for (const auto& name : kProjections) cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
  if (read_only) {
    std::error_code ec;
    if (!fs::exists(dir + "/CURRENT", ec)) return Status::NotFound("the store has no projections yet");
  }
  auto database = base::RocksDatabase::open(
      options, dir, cfs, read_only ? base::RocksDatabase::Mode::kReadOnly : base::RocksDatabase::Mode::kReadWrite);
  if (!database.ok()) return database.status();
  impl->database = std::move(database).value();
  impl->db = impl->database->db();
  for (size_t i = 0; i < cfs.size(); ++i) impl->cf[cfs[i].name] = impl->database->families()[i];
  std::unique_ptr<ProjectionStore> store(new ProjectionStore(std::move(impl)));
  for (size_t i = 0; i < kProjectionCount; ++i) {
    CERTSCHED_ASSIGN_OR_RETURN(auto cp, store->checkpoint(kProjections[i]));
    store->impl_->checkpoints[i] = cp;
  }
  CERTSCHED_ASSIGN_OR_RETURN(auto rows, store->scan("outbox"));
  for (const auto& row : rows) store->impl_->outbox_ids.insert(row.first);
  return store;
}

Status ProjectionStore::back_up_to(const std::string& dir) { return impl_->database->back_up_to(dir); }

Result<uint64_t> ProjectionStore::checkpoint(const std::string& projection) {
  std::string v;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->cf.at(kCheckpoints), projection, &v);
  if (s.IsNotFound()) return uint64_t{0};
  CERTSCHED_RETURN_IF_ERROR(base::status_from_rocksdb(s, "read checkpoint of " + projection));
  if (v.size() != 8) return Status::Corruption("checkpoint of projection " + projection + " is malformed");
  return base::load_u64(v.data());
}

Status ProjectionStore::on_event(const eventstore::RecordedEvent& r, const domain::Event& event,
                                 const domain::DomainState& after) {
  if (impl_->read_only) return Status::Ok();
  (void)event;
  Impl& m = *impl_;
  m.state = &after;
  std::array<bool, kProjectionCount> applies;
  for (size_t i = 0; i < kProjectionCount; ++i) applies[i] = r.position > m.checkpoints[i];
  // Only which rows changed is noted here; each changed row is written once, from the state
  // as of the batch's last event, when the batch is flushed.
  using domain::StreamKind;
  if (auto partner = domain::stream_id(r.stream, StreamKind::kPartner); partner && applies[kPartners]) {
    m.partner_changed(*partner);
  }
  if (auto schedule = domain::stream_id(r.stream, StreamKind::kSchedule)) {
    const std::string id(*schedule);
    if (after.schedule(id)) {
      const size_t n = domain::schedule_number(id);
      const uint8_t change = (applies[kSchedules] ? kScheduleRow : 0) | (applies[kDue] ? kDueRow : 0) |
                             (applies[kPartners] ? kPartnerView : 0);
      if (n >= m.schedule_changes.size()) m.schedule_changes.resize(std::max(n + 1, 2 * m.schedule_changes.size()));
      if (change && !m.schedule_changes[n]) m.changed_schedules.push_back(n);
      m.schedule_changes[n] |= change;
    }
  }
  if (auto listener = domain::stream_id(r.stream, StreamKind::kListener); listener && applies[kListeners]) {
    if (auto lid = domain::parse_listener(std::string(*listener))) m.dirty_listeners.insert(*lid);
  }
  if (m.outbox) {
    // Taken after every event, so that changes never pile up; applied where the outbox
    // projection is behind. Its first applied event (after opening, or after a failed flush
    // reloaded its rows) compares the whole outbox; the others follow only what changed.
    std::vector<OwedChange> changes = m.outbox->take_changes(after);
    if (applies[kOutbox]) {
      if (!m.outbox_in_step) {
        changes.clear();
        std::set<std::string> owed;
        for (const Notification* n : m.outbox->owed(after)) {
          changes.push_back({n->id, n});
          owed.insert(n->id);
        }
        for (const auto& id : m.outbox_ids) {
          if (!owed.count(id)) changes.push_back({id, nullptr});
        }
        m.outbox_in_step = true;
      }
      for (const OwedChange& c : changes) mirror(c, m.cf.at("outbox"), m.pending, m.outbox_ids);
    }
  }
  bool any = false;
  for (size_t i = 0; i < kProjectionCount; ++i) {
    if (applies[i]) {
      m.checkpoints[i] = r.position;
      any = true;
    }
  }
  if (!any) return Status::Ok();
  ++m.applied;
  if (++m.pending_events >= kEventsPerBatch || m.pending.GetDataSize() >= kMaxPendingBytes) return flush();
  return Status::Ok();
}

Status ProjectionStore::on_caught_up() { return flush(); }

uint64_t ProjectionStore::applied_events() const { return impl_->applied; }

Status ProjectionStore::flush() {
  Impl& m = *impl_;
  if (m.pending_events == 0 && m.pending.Count() == 0) return Status::Ok();
  const domain::DomainState& state = *m.state;
  // Rows are written in chunks and the checkpoints last. A crash between chunks leaves rows
  // ahead of their checkpoints, which is harmless: every row is built whole from the state,
  // and each was changed by an event after its checkpoint, so the replay rewrites it.
  std::sort(m.changed_schedules.begin(), m.changed_schedules.end());  // keys in order
  size_t next_schedule = 0;
  std::vector<const std::string*> partners;  // the changed partners' ids, sorted
  size_t next_partner = 0;
  // Fills `b` with the next chunk of rows (the outbox rows gathered so far come first);
  // returns whether more follow.
  auto next_chunk = [&](rocksdb::WriteBatch* b) {
    b->Clear();
    std::swap(*b, m.pending);
    for (; next_schedule < m.changed_schedules.size(); ++next_schedule) {
      if (b->GetDataSize() >= kFlushChunkBytes) return true;
      const size_t n = m.changed_schedules[next_schedule];
      const std::string id = "S" + std::to_string(n);
      const domain::ScheduleRecord* s = state.schedule(id);
      if (m.schedule_changes[n] & kScheduleRow) {
        // Keyed by number, big-endian, so rows sort in the order the schedules were proposed.
        b->Put(m.cf.at("schedules"), base::encode_u64(n), schedule_text(*s));
      }
      if (m.schedule_changes[n] & kDueRow) {
        const auto now = s->state();
        const bool waiting = statemachines::is_open(now) && now != statemachines::ScheduleState::kProposed;
        if (waiting) b->Put(m.cf.at("due"), due_key(s->proposed.activate_at_ns, id), id);
        else b->Delete(m.cf.at("due"), due_key(s->proposed.activate_at_ns, id));
      }
      if (m.schedule_changes[n] & kPartnerView) m.partner_changed(s->proposed.partner);  // its pending view
    }
    if (partners.empty() && !m.dirty_partners.empty()) {
      // Once every schedule named its partner; in key order, which is cheaper to insert,
      // and walks the state's partners in their order.
      for (const std::string& id : m.dirty_partners) partners.push_back(&id);
      std::sort(partners.begin(), partners.end(), [](const std::string* a, const std::string* b) { return *a < *b; });
    }
    for (; next_partner < partners.size(); ++next_partner) {
      if (b->GetDataSize() >= kFlushChunkBytes) return true;
      const std::string& id = *partners[next_partner];
      if (const auto* p = state.partner(id)) b->Put(m.cf.at("partners"), id, partner_text(state, *p));
      else b->Delete(m.cf.at("partners"), id);  // removed
    }
    for (domain::Listener lid : m.dirty_listeners) {
      if (const auto* l = state.listener(lid)) {
        b->Put(m.cf.at("listeners"), domain::to_string(lid), json_text(listener_json(state, *l, std::nullopt)));
      }
    }
    for (size_t i = 0; i < kProjectionCount; ++i) {
      b->Put(m.cf.at(kCheckpoints), kProjections[i], base::encode_u64(m.checkpoints[i]));
    }
    return false;
  };
  rocksdb::WriteOptions wo;  // unsynced: a lost suffix is replayed from the log on restart
  auto write = [&](rocksdb::WriteBatch& b) { return base::status_from_rocksdb(m.db->Write(wo, &b), "write projections"); };
  Status st;
  if (m.changed_schedules.size() + m.dirty_partners.size() < kRowsForASecondThread) {
    rocksdb::WriteBatch b;
    for (bool more = true; more && st.ok();) {
      more = next_chunk(&b);
      st = write(b);
    }
  } else {
    // A flush after a long catch-up writes hundreds of thousands of rows: each chunk is
    // built on a second core while the one before is written.
    st = base::read_ahead<rocksdb::WriteBatch>(
        [&](rocksdb::WriteBatch* b, bool* more) {
          *more = next_chunk(b);
          return Status::Ok();
        },
        write);
  }
  m.pending.Clear();
  m.pending_events = 0;
  m.dirty_partners.clear();
  for (size_t n : m.changed_schedules) m.schedule_changes[n] = 0;
  m.changed_schedules.clear();
  m.dirty_listeners.clear();
  if (!st.ok()) {
    // What was buffered is lost: go back to the checkpoints on disk so it is reapplied.
    for (size_t i = 0; i < kProjectionCount; ++i) {
      auto cp = checkpoint(kProjections[i]);
      m.checkpoints[i] = cp.ok() ? cp.value() : 0;
    }
    auto rows = scan("outbox");
    m.outbox_ids.clear();
    m.outbox_in_step = false;
    if (rows.ok()) {
      for (const auto& row : rows.value()) m.outbox_ids.insert(row.first);
    }
  }
  return st;
}

Result<std::vector<std::pair<std::string, std::string>>> ProjectionStore::scan(const std::string& projection) {
  if (impl_->read_only) {
    CERTSCHED_RETURN_IF_ERROR(base::status_from_rocksdb(impl_->db->TryCatchUpWithPrimary(), "catch up with the writer"));
  }
  auto it = impl_->cf.find(projection);
  if (it == impl_->cf.end()) return Status::InvalidArgument("no projection " + projection);
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> iter(impl_->db->NewIterator(rocksdb::ReadOptions(), it->second));
  for (iter->SeekToFirst(); iter->Valid(); iter->Next()) out.emplace_back(iter->key().ToString(), iter->value().ToString());
  CERTSCHED_RETURN_IF_ERROR(base::status_from_rocksdb(iter->status(), "scan projection " + projection));
  return out;
}

Result<std::string> ProjectionStore::dump() {
  std::string out;
  for (const auto& name : kProjections) {
    CERTSCHED_ASSIGN_OR_RETURN(auto cp, checkpoint(name));
    out += "== " + name + " @" + std::to_string(cp) + "\n";
    CERTSCHED_ASSIGN_OR_RETURN(auto rows, scan(name));
    for (const auto& [k, v] : rows) {
      std::string printable;
      for (unsigned char c : k) printable += std::isprint(c) ? std::string(1, c) : "\\x" + std::to_string(c);
      out += printable + " = " + v + "\n";
    }
  }
  return out;
}

}  // namespace certsched::projections
