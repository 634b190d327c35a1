// The clustered store's append, with group commit: the appends this node's threads make
// meanwhile are framed together on the head this node last saw and sent as one statement,
// which moves the head row only if it is still there (and the leader epoch the scheduler's
// appends carry is still current), then writes the runs (a command's first run carrying
// its id and result), in one transaction.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <unordered_map>

#include "base/byte_io.h"
#include "eventstore/append_checks.h"
#include "eventstore/append_framing.h"
#include "eventstore/postgres_event_store.h"

namespace certsched::eventstore::internal {
namespace {

std::string_view hash_bytes(const ChainHash& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

// A node that keeps losing the race to others gives up after this many tries.
constexpr int kAttempts = 1000;

// The append, in one statement (and so one transaction). Appends from every node queue on
// the head row until the transaction that holds it ends; one that waited is checked again
// against the row as the other left it, epoch included, and then moves nothing. The runs
// are written only if the head moved; a command id applied before violates the key of
// log_command_id, and nothing is written. One row answers an append.
// Parameters: $1 $2 the head the node framed on, $3 the commands' leader epochs (0: not
// the scheduler's), $4 $5 the command id and result each run carries ('' but in a
// command's first run), $6 $7 the new head, $8-$11 the runs.
constexpr const char* kAppend =
    "WITH moved AS (UPDATE certsched.head SET position = $6::bigint, hash = $7::bytea "
    "  WHERE id = 1 AND position = $1::bigint AND hash = $2::bytea "
    "    AND epoch = ALL(array_remove($3::bigint[], 0::bigint)) RETURNING epoch), "
    "runs AS (INSERT INTO certsched.log (position, stream, last_version, value, command_id, result) "
    "  SELECT r.position, r.stream, r.last_version, r.value, nullif(r.command_id, ''), nullif(r.result, ''::bytea) "
    "  FROM unnest($8::bigint[], $9::text[], $10::bigint[], $11::bytea[], $4::text[], $5::bytea[]) "
    "    AS r(position, stream, last_version, value, command_id, result) "
    "  WHERE EXISTS (SELECT FROM moved)) "
    "SELECT pg_notify('certsched_log', '') FROM moved";

// The same for a group of one run (one command writing one stream, as most appends are),
// each parameter a value instead of an array: unnesting arrays cost the server about as
// much as writing the row (docs/benchmarks.md, figure 10).
constexpr const char* kAppendOneRun =
    "WITH moved AS (UPDATE certsched.head SET position = $6::bigint, hash = $7::bytea "
    "  WHERE id = 1 AND position = $1::bigint AND hash = $2::bytea "
    "    AND ($3::bigint = 0 OR epoch = $3::bigint) RETURNING epoch), "
    "runs AS (INSERT INTO certsched.log (position, stream, last_version, value, command_id, result) "
    "  SELECT $8::bigint, $9::text, $10::bigint, $11::bytea, $4::text, $5::bytea WHERE EXISTS (SELECT FROM moved)) "
    "SELECT pg_notify('certsched_log', '') FROM moved";

// Why an append moved nothing or failed on a command id: the head as it is now, whether it
// is still where the node framed ($1 $2), and the first results of the command ids ($3)
// applied before, a row each (or one row of NULLs).
constexpr const char* kWhyNotAppended =
    "SELECT h.epoch, h.position = $1::bigint AND h.hash = $2::bytea, l.command_id, l.result "
    "FROM certsched.head h LEFT JOIN certsched.log l ON l.command_id = ANY($3::text[]) WHERE h.id = 1";

}  // namespace

// One group on its way: the members not answered yet, and what the last staging made of
// them.
struct PostgresEventStore::Group {
  std::vector<PendingAppend*> open;
  struct Staged {
    PendingAppend* member;
    AppendResult result;
  };
  std::vector<Staged> staged;
  // Members repeating the command id of staged[index]: answered with its result.
  std::vector<std::pair<PendingAppend*, size_t>> twins;
  // Members refused on what the group saw: answered once the group is appended (a
  // refusal against the group's earlier members stands only if those land).
  std::vector<std::pair<PendingAppend*, Status>> refused;
  bool stale = false;  // seen_ is behind the log: catch up before the next try
  uint64_t position = 0;
  ChainHash hash{};
  std::unordered_map<std::string, uint64_t> versions;  // the group's streams after it
  std::vector<std::string> epochs, command_ids;  // a command each
  // A run each; the first run of a command carries its id and result, the others ''.
  std::vector<std::string> positions, streams, last_versions, values, run_command_ids, run_results;

  void answer(PendingAppend* m, Result<AppendResult> result) {
    m->result = std::move(result);
    open.erase(std::remove(open.begin(), open.end(), m), open.end());
  }
  void answer_all(const Status& st) {
    for (PendingAppend* m : open) m->result = st;
    open.clear();
  }
};

Status PostgresEventStore::catch_up(PgConnection& c) {
  // Read whole the first time: every stream's version, with the head, in one snapshot.
  // After that only the runs appended since, and the hash this node saw at its position
  // as the log has it now: a log that differs there (restored from a backup) is read whole.
  auto rows = seen_.valid
                  ? c.run("SELECT h.position, h.hash, l.stream, l.last_version, "
                          "(SELECT substring(s.value FROM length(s.value) - 31) FROM certsched.log s "
                          "WHERE s.position <= $1::bigint ORDER BY s.position DESC LIMIT 1) "
                          "FROM certsched.head h LEFT JOIN certsched.log l ON l.position > $1::bigint "
                          "WHERE h.id = 1 ORDER BY l.position",
                          {PgParam::bigint(static_cast<int64_t>(seen_.position))})
                  : c.run("SELECT h.position, h.hash, v.stream, v.version FROM certsched.head h LEFT JOIN "
                          "(SELECT stream, max(last_version) AS version FROM certsched.log GROUP BY stream) v "
                          "ON true WHERE h.id = 1");
  if (!rows.ok()) return rows.status();
  if (rows->size() == 0 || rows->bytes(0, 1).size() != sizeof(ChainHash)) {
    return Status::Corruption("the head row of the log in " + pool_.uri() + " is missing or malformed");
  }
  const uint64_t position = static_cast<uint64_t>(rows->bigint(0, 0));
  if (seen_.valid) {
    const bool same_history = rows->null(0, 4) ? seen_.position == 0
                                               : rows->bytes(0, 4) == hash_bytes(seen_.hash);
    if (position < seen_.position || !same_history) {
      seen_.valid = false;
      return catch_up(c);
    }
  } else {
    seen_.versions.clear();
  }
  seen_.valid = true;
  seen_.position = position;
  std::memcpy(seen_.hash.data(), rows->bytes(0, 1).data(), seen_.hash.size());
  for (int i = 0; i < rows->size(); ++i) {
    if (!rows->null(i, 2)) seen_.versions[std::string(rows->bytes(i, 2))] = static_cast<uint64_t>(rows->bigint(i, 3));
  }
  return Status::Ok();
}

uint64_t PostgresEventStore::seen_version(const std::string& stream) const {
  auto it = seen_.versions.find(stream);
  return it == seen_.versions.end() ? 0 : it->second;
}

bool PostgresEventStore::stage(Group& g, bool fresh) {
  g.staged.clear();
  g.twins.clear();
  g.refused.clear();
  g.versions.clear();
  for (auto* items : {&g.epochs, &g.command_ids, &g.positions, &g.streams, &g.last_versions, &g.values,
                      &g.run_command_ids, &g.run_results}) {
    items->clear();
  }
  g.position = seen_.position;
  g.hash = seen_.hash;
  std::unordered_map<std::string_view, size_t> staged_ids;
  for (PendingAppend* m : g.open) {
    const AppendRequest& req = *m->request;
    if (auto twin = staged_ids.find(req.command_id); twin != staged_ids.end()) {
      g.twins.emplace_back(m, twin->second);
      continue;
    }
    std::vector<uint64_t> current;
    for (const StreamWrite& w : req.writes) {
      auto in_group = g.versions.find(w.stream);
      current.push_back(in_group != g.versions.end() ? in_group->second : seen_version(w.stream));
    }
    // A command checked against an older head is checked again by its caller first: its
    // expected versions may fail only because of what it has not seen.
    Status refused = req.expected_head && *req.expected_head != g.position
                         ? head_moved_refusal(*req.expected_head, g.position)
                         : check_expected_versions(req, current);
    if (!refused.ok()) {
      if (!fresh) return false;  // refused on what this node saw before: look again, then decide
      g.refused.emplace_back(m, std::move(refused));
      continue;
    }
    const size_t first_run = g.positions.size();
    AppendResult result = frame_append(req, current, &g.position, &g.hash, [&](const FramedRun& run) {
      g.positions.push_back(base::encode_u64(run.header.first_position));
      g.streams.emplace_back(run.header.stream);
      g.last_versions.push_back(base::encode_u64(run.last_version));
      g.values.emplace_back(run.value);
      g.run_command_ids.emplace_back();
      g.run_results.emplace_back();
    });
    for (const StreamVersion& v : result.versions) g.versions[v.stream] = v.version;
    g.epochs.push_back(base::encode_u64(req.leader_epoch));
    g.command_ids.push_back(req.command_id);
    g.run_command_ids[first_run] = req.command_id;
    g.run_results[first_run] = encode_append_result(result);
    staged_ids.emplace(req.command_id, g.staged.size());
    g.staged.push_back({m, std::move(result)});
  }
  return true;
}

Status PostgresEventStore::send(PgConnection& c, Group& g) {
  // A refused command that was retried is answered with its first result, whatever the
  // log says now.
  auto answer_refused = [&] {
    for (auto& [m, refusal] : g.refused) {
      auto first = command_result(m->request->command_id, m->request->request_digest);
      if (!first.ok()) {
        g.answer(m, first.status());
      } else if (first.value()) {
        g.answer(m, std::move(*first.value()));
      } else {
        g.answer(m, refusal);
      }
    }
  };
  if (g.staged.empty()) {
    answer_refused();
    return Status::Ok();
  }
  const PgParam framed_position = PgParam::bigint(static_cast<int64_t>(seen_.position));
  const PgParam framed_hash = PgParam::bytes_of(hash_bytes(seen_.hash));
  const PgParam new_position = PgParam::bigint(static_cast<int64_t>(g.position));
  const PgParam new_hash = PgParam::bytes_of(hash_bytes(g.hash));
  auto called =
      g.positions.size() == 1
          ? c.run(kAppendOneRun, {framed_position, framed_hash, PgParam::bytes_of(g.epochs[0]),
                                  PgParam::bytes_of(g.run_command_ids[0]), PgParam::bytes_of(g.run_results[0]),
                                  new_position, new_hash, PgParam::bytes_of(g.positions[0]),
                                  PgParam::bytes_of(g.streams[0]), PgParam::bytes_of(g.last_versions[0]),
                                  PgParam::bytes_of(g.values[0])})
          : c.run(kAppend, {framed_position, framed_hash, PgParam::array(PgType::kBigint, g.epochs),
                            PgParam::array(PgType::kText, g.run_command_ids),
                            PgParam::array(PgType::kBytea, g.run_results), new_position, new_hash,
                            PgParam::array(PgType::kBigint, g.positions), PgParam::array(PgType::kText, g.streams),
                            PgParam::array(PgType::kBigint, g.last_versions),
                            PgParam::array(PgType::kBytea, g.values)});
  // On the head it expected, the append may have met a command id applied before: the
  // transaction wrote nothing.
  const bool taken_id = !called.ok() && c.violated_constraint() == "log_command_id";
  if (!called.ok() && !taken_id) return called.status();
  if (!taken_id && called->size() == 1) {
    ++groups_committed_;
    seen_.position = g.position;
    seen_.hash = g.hash;
    for (auto& [stream, version] : g.versions) seen_.versions[stream] = version;
    for (auto& [m, index] : g.twins) {
      const AppendRequest& req = *m->request;
      g.answer(m, as_retry(req.command_id, req.request_digest, g.staged[index].result));
    }
    for (auto& s : g.staged) g.answer(s.member, std::move(s.result));
    answer_refused();
    return Status::Ok();
  }
  CERTSCHED_ASSIGN_OR_RETURN(auto why, c.run(kWhyNotAppended, {framed_position, framed_hash,
                                                               PgParam::array(PgType::kText, g.command_ids)}));
  if (why.size() == 0) return Status::Corruption("the head row of the log in " + pool_.uri() + " is missing");
  if (!why.null(0, 2)) {
    // Members whose command ids were applied before: answered with their first results;
    // the rest are framed again on the same head.
    for (int i = 0; i < why.size(); ++i) {
      AppendResult first;
      CERTSCHED_RETURN_IF_ERROR(decode_append_result(why.bytes(i, 3), &first));
      const std::string_view id = why.bytes(i, 2);
      for (PendingAppend* m : std::vector<PendingAppend*>(g.open)) {
        if (m->request->command_id == id) g.answer(m, as_retry(m->request->command_id, m->request->request_digest, first));
      }
    }
    return Status::Ok();
  }
  if (taken_id) return Status::Corruption("a command id of the append is taken, but no command has it");
  const bool at_head = why.bytes(0, 1) == std::string_view("\1", 1);
  if (at_head) {
    // Where the node framed, so only an epoch can have stopped it: the scheduler's appends
    // of an epoch that is over are refused, and the others framed again.
    const auto store_epoch = static_cast<uint64_t>(why.bigint(0, 0));
    for (PendingAppend* m : std::vector<PendingAppend*>(g.open)) {
      const uint64_t epoch = m->request->leader_epoch;
      if (epoch != 0 && epoch != store_epoch) g.answer(m, fenced_refusal(epoch, store_epoch));
    }
    return Status::Ok();
  }
  g.stale = true;  // another node appended since this one looked
  return Status::Ok();
}

void PostgresEventStore::append_group(std::vector<PendingAppend*> members) {
  Group g;
  g.open = std::move(members);
  auto c = pool_.take();
  if (!c.ok()) return g.answer_all(c.status());
  // Whether seen_ was read from the log for this group: until it is, a refusal may come of
  // what this node has not seen yet, and is decided only after catching up.
  bool fresh = false;
  for (int attempt = 0; attempt < kAttempts && !g.open.empty(); ++attempt) {
    if (!seen_.valid || g.stale) {
      if (Status read = catch_up(*c.value()); !read.ok()) {
        seen_.valid = false;
        return g.answer_all(read);
      }
      fresh = true;
      g.stale = false;
    }
    if (!stage(g, fresh)) {
      g.stale = true;
      continue;
    }
    if (Status sent = send(*c.value(), g); !sent.ok()) {
      seen_.valid = false;
      if (!sent.IsIOError()) return g.answer_all(sent);
      return g.answer_all(Status::IOError("the append did not complete (" + sent.message() +
                                          "); the same command id again tells whether it landed"));
    }
  }
  g.answer_all(Status::Conflict("the append lost the race for the log's head " + std::to_string(kAttempts) +
                                " times in a row to other nodes' appends; try again"));
}

Result<AppendResult> PostgresEventStore::append(const AppendRequest& request) {
  if (options_.mode != OpenMode::kReadWrite) return Status::InvalidArgument("the store was opened read-only");
  CERTSCHED_RETURN_IF_ERROR(validate_request(request));
  const auto called = std::chrono::steady_clock::now();
  PendingAppend me{&request};
  std::unique_lock<std::mutex> l(queue_mu_);
  queue_.push_back(&me);
  queue_cv_.wait(l, [&] { return me.done || !leader_active_; });
  if (!me.done) {
    // Lead a group: everything queued so far, this request included.
    leader_active_ = true;
    std::vector<PendingAppend*> members;
    members.swap(queue_);
    l.unlock();
    append_group(members);
    l.lock();
    for (PendingAppend* m : members) m->done = true;
    leader_active_ = false;
    queue_cv_.notify_all();
  }
  l.unlock();
  if (me.result.ok() && !me.result.value().duplicate) {
    ++appends_committed_;
    append_nanoseconds_ += static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - called).count());
  }
  return std::move(me.result);
}

}  // namespace certsched::eventstore::internal
