// The clustered store's append: framed on the head this node last saw, and sent as one
// call of certsched.append() (postgres_schema.cc), which checks that head under the head
// row's lock and writes the runs, the command and the new head in one transaction.
#include <chrono>
#include <cstring>

#include "eventstore/append_checks.h"
#include "eventstore/append_framing.h"
#include "eventstore/postgres_event_store.h"

namespace certsched::eventstore::internal {
namespace {

// The text form of a bytea value, as an array literal's element carries it.
std::string bytea_text(std::string_view bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + 2 * bytes.size());
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string_view hash_bytes(const ChainHash& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

// A node that keeps losing the race to others gives up after this many tries.
constexpr int kAttempts = 1000;

}  // namespace

Status PostgresEventStore::see_head(PgConnection& c, const AppendRequest& req) {
  std::vector<std::string_view> names;
  for (const StreamWrite& w : req.writes) names.push_back(w.stream);
  CERTSCHED_ASSIGN_OR_RETURN(
      auto rows, c.run("SELECT h.position, h.hash, v.stream, v.version FROM certsched.head h LEFT JOIN "
                       "(SELECT stream, max(last_version) AS version FROM certsched.log WHERE stream = ANY($1::text[]) "
                       "GROUP BY stream) v ON true WHERE h.id = 1",
                       {PgParam::text_array(names)}));
  if (rows.size() == 0 || rows.bytes(0, 1).size() != sizeof(ChainHash)) {
    return Status::Corruption("the head row of the log in " + pool_.uri() + " is missing or malformed");
  }
  const uint64_t position = static_cast<uint64_t>(rows.bigint(0, 0));
  ChainHash hash;
  std::memcpy(hash.data(), rows.bytes(0, 1).data(), hash.size());
  if (!seen_.valid || position != seen_.position || hash != seen_.hash) seen_.versions.clear();
  seen_.valid = true;
  seen_.position = position;
  seen_.hash = hash;
  for (const StreamWrite& w : req.writes) seen_.versions[w.stream] = 0;
  for (int i = 0; i < rows.size(); ++i) {
    if (!rows.null(i, 2)) seen_.versions[std::string(rows.bytes(i, 2))] = static_cast<uint64_t>(rows.bigint(i, 3));
  }
  return Status::Ok();
}

Result<std::optional<AppendResult>> PostgresEventStore::try_append(PgConnection& c, const AppendRequest& req) {
  using Tried = std::optional<AppendResult>;
  std::vector<uint64_t> current;
  for (const StreamWrite& w : req.writes) current.push_back(seen_.versions.at(w.stream));
  // A command checked against an older head is checked again by its caller first: its
  // expected versions may fail only because of what it has not seen.
  Status refused = req.expected_head && *req.expected_head != seen_.position
                       ? head_moved_refusal(*req.expected_head, seen_.position)
                       : check_expected_versions(req, current);
  if (!refused.ok()) {
    // A retried command is answered with its first result, whatever the log says now.
    CERTSCHED_ASSIGN_OR_RETURN(auto first, command_result(req.command_id, req.request_digest));
    if (first) return Tried(std::move(*first));
    return refused;
  }
  uint64_t position = seen_.position;
  ChainHash hash = seen_.hash;
  std::vector<std::string> positions, streams, last_versions, values;
  AppendResult result = frame_append(req, current, &position, &hash, [&](const FramedRun& run) {
    positions.push_back(std::to_string(run.header.first_position));
    streams.emplace_back(run.header.stream);
    last_versions.push_back(std::to_string(run.last_version));
    values.push_back(bytea_text(run.value));
  });
  auto array = [](const std::vector<std::string>& items) {
    return PgParam::text_array(std::vector<std::string_view>(items.begin(), items.end()));
  };
  CERTSCHED_ASSIGN_OR_RETURN(
      auto rows, c.run("SELECT outcome, detail, store_epoch FROM certsched.append($1::bigint, $2::bytea, $3::bigint, "
                       "$4::text, $5::bytea, $6::bigint, $7::bytea, $8::bigint[], $9::text[], $10::bigint[], $11::bytea[])",
                       {PgParam::bigint(static_cast<int64_t>(seen_.position)), PgParam::bytes_of(hash_bytes(seen_.hash)),
                        PgParam::bigint(static_cast<int64_t>(req.leader_epoch)), PgParam::bytes_of(req.command_id),
                        PgParam::bytes_of(encode_append_result(result)), PgParam::bigint(static_cast<int64_t>(position)),
                        PgParam::bytes_of(hash_bytes(hash)), array(positions), array(streams), array(last_versions),
                        array(values)}));
  if (rows.size() != 1) return Status::Corruption("certsched.append() answered " + std::to_string(rows.size()) + " rows");
  const std::string_view outcome = rows.bytes(0, 0);
  if (outcome == "appended") {
    seen_.position = position;
    seen_.hash = hash;
    for (const StreamVersion& v : result.versions) seen_.versions[v.stream] = v.version;
    return Tried(std::move(result));
  }
  if (outcome == "duplicate") {
    AppendResult first;
    CERTSCHED_RETURN_IF_ERROR(decode_append_result(rows.bytes(0, 1), &first));
    CERTSCHED_ASSIGN_OR_RETURN(auto retry, as_retry(req.command_id, req.request_digest, std::move(first)));
    return Tried(std::move(retry));
  }
  if (outcome == "fenced") return fenced_refusal(req.leader_epoch, static_cast<uint64_t>(rows.bigint(0, 2)));
  seen_.valid = false;  // stale: another node appended since this one looked
  return Tried();
}

Result<AppendResult> PostgresEventStore::append(const AppendRequest& request) {
  if (options_.mode != OpenMode::kReadWrite) return Status::InvalidArgument("the store was opened read-only");
  CERTSCHED_RETURN_IF_ERROR(validate_request(request));
  const auto called = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> l(append_mu_);
  CERTSCHED_ASSIGN_OR_RETURN(auto c, pool_.take());
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    bool known = seen_.valid;
    for (const StreamWrite& w : request.writes) known = known && seen_.versions.count(w.stream);
    Status looked = known ? Status::Ok() : see_head(*c, request);
    auto tried = looked.ok() ? try_append(*c, request) : Result<std::optional<AppendResult>>(looked);
    if (!tried.ok() && known && !fenced(tried.status())) {
      // Refused on what this node saw before: it may be out of date. Look again, then decide.
      seen_.valid = false;
      continue;
    }
    if (!tried.ok()) {
      if (tried.status().IsIOError()) {
        seen_.valid = false;
        return Status::IOError("the append did not complete (" + tried.status().message() +
                               "); the same command id again tells whether it landed");
      }
      return tried.status();
    }
    if (!tried.value()) continue;  // stale: another node appended meanwhile
    if (!tried.value()->duplicate) {
      ++appends_committed_;
      append_nanoseconds_ += static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - called).count());
    }
    return std::move(*tried.value());
  }
  return Status::Conflict("the append lost the race for the log's head " + std::to_string(kAttempts) +
                          " times in a row to other nodes' appends; try again");
}

}  // namespace certsched::eventstore::internal
