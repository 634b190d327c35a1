#include "domain/engine.h"

#include <algorithm>

#include "base/read_ahead.h"
#include "domain/command_support.h"
#include "domain/event_codec.h"
#include "domain/request_digest.h"

namespace certsched::domain {

using eventstore::ExpectedVersion;
using statemachines::ScheduleState;
using statemachines::ScheduleTrigger;
using namespace internal;

Result<std::unique_ptr<Engine>> Engine::open(eventstore::EventStore& store, std::string store_dir,
                                             std::vector<EventObserver*> observers) {
  std::unique_ptr<Engine> engine(new Engine(store, std::move(store_dir)));
  engine->observers_ = std::move(observers);
  CERTSCHED_RETURN_IF_ERROR(engine->catch_up());
  // A crash between a certificate's removal and its key's destruction left the key: done
  // now. Not fatal here (a read-only reader may not write DIR/keys); the next open retries.
  (void)engine->destroy_removed_keys();
  return engine;
}

namespace {

// Events read and decoded at a time. Small enough that the batches in flight (two while
// reading ahead) stay a few MiB beside the state they build.
constexpr size_t kCatchUpBatch = 1024;

// A batch of the log, read and decoded.
struct DecodedBatch {
  std::vector<eventstore::RecordedEvent> records;
  std::vector<Event> events;
};

// Reads up to kCatchUpBatch records from `from` on and decodes them. An event that does
// not decode ends the batch (the records before it stay) and its error is returned.
Status read_decoded(eventstore::EventStore& store, uint64_t from, DecodedBatch* b) {
  b->events.clear();
  CERTSCHED_RETURN_IF_ERROR(store.read_all(from, kCatchUpBatch, &b->records));
  for (size_t i = 0; i < b->records.size(); ++i) {
    auto event = decode_event(b->records[i]);
    if (!event.ok()) {
      b->records.resize(i);
      return event.status();
    }
    b->events.push_back(std::move(event.value()));
  }
  return Status::Ok();
}

}  // namespace

Status Engine::catch_up() {
  DecodedBatch batch;
  const Status read = read_decoded(store_, state_.position() + 1, &batch);
  CERTSCHED_RETURN_IF_ERROR(apply_decoded(batch.records, batch.events));
  CERTSCHED_RETURN_IF_ERROR(read);
  if (batch.records.size() == kCatchUpBatch) {
    // Far behind (opening a store, rebuilding projections): the rest is read and decoded
    // on a second core while this one applies.
    uint64_t next = batch.records.back().position + 1;
    batch = DecodedBatch();  // two more are in flight from here on
    CERTSCHED_RETURN_IF_ERROR(base::read_ahead<DecodedBatch>(
        [&](DecodedBatch* b, bool* more) {
          const Status st = read_decoded(store_, next, b);
          if (!b->records.empty()) next = b->records.back().position + 1;
          *more = b->records.size() == kCatchUpBatch;  // a short batch reached the head
          return st;
        },
        [&](const DecodedBatch& b) { return apply_decoded(b.records, b.events); }));
  }
  for (EventObserver* o : observers_) CERTSCHED_RETURN_IF_ERROR(o->on_caught_up());
  return Status::Ok();
}

Status Engine::apply_decoded(const std::vector<eventstore::RecordedEvent>& records, const std::vector<Event>& events) {
  for (size_t i = 0; i < events.size(); ++i) {
    CERTSCHED_RETURN_IF_ERROR(state_.apply(records[i], events[i]));
    for (EventObserver* o : observers_) CERTSCHED_RETURN_IF_ERROR(o->on_event(records[i], events[i], state_));
  }
  return Status::Ok();
}

Result<const DomainState*> Engine::state() {
  std::lock_guard<std::mutex> l(mu_);
  CERTSCHED_RETURN_IF_ERROR(catch_up());
  return &state_;
}

Result<std::optional<CommandResult>> Engine::previous_result(const CommandContext& ctx) {
  if (ctx.command_id.empty()) return Status::InvalidArgument("the command has no command id");
  CERTSCHED_ASSIGN_OR_RETURN(auto previous, store_.command_result(ctx.command_id, request_digest_));
  if (!previous) return std::optional<CommandResult>();
  CommandResult r;
  r.first_position = previous->first_position;
  r.last_position = previous->last_position;
  r.duplicate = true;
  CERTSCHED_ASSIGN_OR_RETURN(auto events, store_.read_all(r.first_position, r.last_position - r.first_position + 1));
  for (const auto& e : events) {
    if (!e.correlation_id.empty()) r.proposal_id = e.correlation_id;
    if (auto schedule = stream_id(e.stream, StreamKind::kSchedule)) {
      const std::string id(*schedule);
      if (std::find(r.schedule_ids.begin(), r.schedule_ids.end(), id) == r.schedule_ids.end()) {
        r.schedule_ids.push_back(id);
      }
    }
  }
  return std::optional<CommandResult>(std::move(r));
}

Result<CommandResult> Engine::serializable(const CommandContext& ctx, std::string digest,
                                           const std::function<Result<CommandResult>()>& body) {
  // Each attempt lost a race to another node's append; this many in a row means the log is
  // moving faster than this node can check against it, and the caller is told so.
  constexpr int kAttempts = 100;
  std::lock_guard<std::mutex> lock(mu_);
  request_digest_ = std::move(digest);
  for (int attempt = 1;; ++attempt) {
    CERTSCHED_RETURN_IF_ERROR(catch_up());
    auto previous = previous_result(ctx);
    if (!previous.ok()) return previous.status();
    if (previous.value()) return std::move(*previous.value());
    auto r = body();
    if (r.ok() || !eventstore::head_moved(r.status()) || attempt == kAttempts) return r;
  }
}

Result<CommandResult> Engine::commit(eventstore::AppendRequest request, CommandResult result) {
  request.request_digest = request_digest_;
  request.expected_head = state_.position();
  CERTSCHED_ASSIGN_OR_RETURN(auto appended, store_.append(request));
  result.first_position = appended.first_position;
  result.last_position = appended.last_position;
  result.duplicate = appended.duplicate;
  CERTSCHED_RETURN_IF_ERROR(catch_up());
  return result;
}

}  // namespace certsched::domain
