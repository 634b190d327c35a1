// Reads of the clustered log: by position, by stream, the verifying walks, and the
// subscription that LISTEN/NOTIFY wakes.
#include <cstring>
#include <memory>
#include <thread>

#include "eventstore/following_subscription.h"
#include "eventstore/log_walk.h"
#include "eventstore/postgres_event_store.h"
#include "eventstore/record_format.h"

namespace certsched::eventstore::internal {
namespace {

// Values read per statement by the walks over the whole log.
constexpr int64_t kWalkPage = 4096;

Status decode_value(std::string_view value, uint64_t position, std::vector<RecordedEvent>* events) {
  StoredValue sv;
  CERTSCHED_RETURN_IF_ERROR(parse_stored_value(value, position, &sv));
  return decode_events(sv, position, events);
}

}  // namespace

Status PostgresEventStore::read_all(uint64_t from_position, size_t max_count, std::vector<RecordedEvent>* out) {
  uint64_t expected = from_position == 0 ? 1 : from_position;
  CERTSCHED_ASSIGN_OR_RETURN(auto c, pool_.take());
  // The run holding the first position wanted may begin before it.
  CERTSCHED_ASSIGN_OR_RETURN(
      auto rows, c->run("SELECT position, value FROM certsched.log WHERE position >= coalesce("
                        "(SELECT max(position) FROM certsched.log WHERE position <= $1::bigint), 1) "
                        "ORDER BY position LIMIT $2::bigint",
                        {PgParam::bigint(static_cast<int64_t>(expected)),
                         PgParam::bigint(static_cast<int64_t>(std::min<size_t>(max_count, 1 << 20)))}));
  size_t n = 0;
  std::vector<RecordedEvent> run;
  for (int i = 0; i < rows.size() && n < max_count; ++i) {
    const uint64_t first = static_cast<uint64_t>(rows.bigint(i, 0));
    if (first > expected || (i > 0 && first != expected)) {
      return Status::Corruption("record at position " + std::to_string(expected) + " is missing");
    }
    CERTSCHED_RETURN_IF_ERROR(decode_value(rows.bytes(i, 1), first, &run));
    for (; expected - first < run.size() && n < max_count; ++expected, ++n) {
      if (n == out->size()) out->emplace_back();
      std::swap((*out)[n], run[expected - first]);  // the strings' capacity goes round
    }
  }
  out->resize(n);
  return Status::Ok();
}

Result<std::vector<RecordedEvent>> PostgresEventStore::read_stream(const std::string& stream, uint64_t from_version,
                                                                   size_t max_count) {
  uint64_t expected = from_version == 0 ? 1 : from_version;
  CERTSCHED_ASSIGN_OR_RETURN(auto c, pool_.take());
  CERTSCHED_ASSIGN_OR_RETURN(
      auto rows, c->run("SELECT position, value FROM certsched.log WHERE stream = $1::text AND last_version >= "
                        "$2::bigint ORDER BY last_version LIMIT $3::bigint",
                        {PgParam::bytes_of(stream), PgParam::bigint(static_cast<int64_t>(expected)),
                         PgParam::bigint(static_cast<int64_t>(std::min<size_t>(max_count, 1 << 20)))}));
  std::vector<RecordedEvent> out;
  std::vector<RecordedEvent> run;
  for (int i = 0; i < rows.size() && out.size() < max_count; ++i) {
    const uint64_t position = static_cast<uint64_t>(rows.bigint(i, 0));
    CERTSCHED_RETURN_IF_ERROR(decode_value(rows.bytes(i, 1), position, &run));
    for (RecordedEvent& e : run) {
      if (e.stream_version < expected || out.size() == max_count) continue;
      if (e.stream != stream || e.stream_version != expected) {
        return Status::Corruption("stream " + stream + " version " + std::to_string(expected) +
                                  " does not match the record at position " + std::to_string(e.position));
      }
      out.push_back(std::move(e));
      ++expected;
    }
  }
  return out;
}

Result<uint64_t> PostgresEventStore::stream_version(const std::string& stream) {
  CERTSCHED_ASSIGN_OR_RETURN(auto c, pool_.take());
  CERTSCHED_ASSIGN_OR_RETURN(auto rows, c->run("SELECT coalesce(max(last_version), 0) FROM certsched.log "
                                               "WHERE stream = $1::text",
                                               {PgParam::bytes_of(stream)}));
  return static_cast<uint64_t>(rows.bigint(0, 0));
}

Result<Head> PostgresEventStore::head() {
  CERTSCHED_ASSIGN_OR_RETURN(auto c, pool_.take());
  CERTSCHED_ASSIGN_OR_RETURN(auto rows, c->run("SELECT position, hash FROM certsched.head WHERE id = 1"));
  if (rows.size() != 1 || rows.bytes(0, 1).size() != sizeof(ChainHash)) {
    return Status::Corruption("the head row of the log in " + pool_.uri() + " is missing or malformed");
  }
  ChainHash h;
  std::memcpy(h.data(), rows.bytes(0, 1).data(), h.size());
  return Head{static_cast<uint64_t>(rows.bigint(0, 0)), to_hex(h)};
}

// One snapshot for the whole walk: nodes appending meanwhile change neither the head it
// read nor the rows it pages through.
Result<VerifyReport> PostgresEventStore::walk(const RunHandler& each) {
  CERTSCHED_ASSIGN_OR_RETURN(auto c, pool_.take());
  CERTSCHED_RETURN_IF_ERROR(c->script("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  auto walked = [&]() -> Result<VerifyReport> {
    CERTSCHED_ASSIGN_OR_RETURN(auto head, c->run("SELECT position, hash FROM certsched.head WHERE id = 1"));
    ChainHash head_hash = kGenesisHash;
    const bool head_ok = head.size() == 1 && head.bytes(0, 1).size() == sizeof(ChainHash);
    if (head_ok) std::memcpy(head_hash.data(), head.bytes(0, 1).data(), head_hash.size());
    LogWalk walk(head_ok ? static_cast<uint64_t>(head.bigint(0, 0)) : 0, head_hash);
    if (!head_ok) {
      walk.fail(0, "the head row is missing or malformed");
      return walk.finish();
    }
    std::vector<RecordedEvent> run;
    int64_t after = 0;
    for (bool more = true; more && !walk.failed();) {
      CERTSCHED_ASSIGN_OR_RETURN(auto rows, c->run("SELECT position, stream, last_version, value FROM certsched.log "
                                                   "WHERE position > $1::bigint ORDER BY position LIMIT $2::bigint",
                                                   {PgParam::bigint(after), PgParam::bigint(kWalkPage)}));
      more = rows.size() == kWalkPage;
      for (int i = 0; i < rows.size(); ++i) {
        const uint64_t position = static_cast<uint64_t>(rows.bigint(i, 0));
        if (!walk.step(position, rows.bytes(i, 3), &run)) break;
        // The stream columns only index the value, but a read by stream trusts them.
        if (rows.bytes(i, 1) != run.front().stream ||
            static_cast<uint64_t>(rows.bigint(i, 2)) != run.back().stream_version) {
          walk.fail(position, "record at position " + std::to_string(position) +
                                  ": its row's stream columns do not match the record");
          break;
        }
        if (each) CERTSCHED_RETURN_IF_ERROR(each(rows.bytes(i, 3), run));
        after = static_cast<int64_t>(position);
      }
    }
    return walk.finish();
  };
  auto report = walked();
  (void)c->script(report.ok() ? "COMMIT" : "ROLLBACK");
  return report;
}

Result<VerifyReport> PostgresEventStore::verify(const std::function<Status(const RecordedEvent&)>& each) {
  if (!each) return walk(nullptr);
  return walk([&](std::string_view, const std::vector<RecordedEvent>& run) {
    for (const RecordedEvent& e : run) CERTSCHED_RETURN_IF_ERROR(each(e));
    return Status::Ok();
  });
}

Status PostgresEventStore::for_each_record(const std::function<Status(const StoredRecord&)>& each) {
  StoredRecord record;
  CERTSCHED_ASSIGN_OR_RETURN(auto report, walk([&](std::string_view value, const std::vector<RecordedEvent>& run) {
    record.framed.assign(value.substr(0, value.size() - sizeof(ChainHash)));
    ChainHash chain;
    std::memcpy(chain.data(), value.data() + record.framed.size(), chain.size());
    record.chain_hash_hex = to_hex(chain);
    record.events = run;
    return each(record);
  }));
  return report.verified ? Status::Ok() : Status::Corruption(report.problem);
}

std::unique_ptr<Subscription> PostgresEventStore::subscribe(uint64_t after_position, EventHandler handler) {
  // Reads by position are the truth; a notification only says when to read again. A lost
  // notification costs at most the poll interval; a lost connection is made again.
  static constexpr int kPollMs = 250;
  auto listener = std::make_shared<std::unique_ptr<PgConnection>>();  // used by the subscription's thread only
  auto wait_for_more = [this, listener](uint64_t) {
    if (!*listener || !(*listener)->healthy()) {
      listener->reset();
      auto c = PgConnection::connect(pool_.uri());
      if (c.ok() && (*c)->script("LISTEN certsched_log").ok()) *listener = std::move(c).value();
    }
    if (*listener) {
      (void)(*listener)->wait_for_notification(kPollMs);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
    }
    return Status::Ok();
  };
  return std::make_unique<FollowingSubscription>(this, after_position, std::move(handler), wait_for_more,
                                                 /*wait_out_io_errors=*/true);
}

}  // namespace certsched::eventstore::internal
