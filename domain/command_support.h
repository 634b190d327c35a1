// What the engine's command files share (internal to domain/): collecting every reason a
// command is refused, grouping its events into one append, the text and name checks, and
// the command prologue.
#pragma once

#ifndef CERTSCHED_INTERNAL_DOMAIN
#error "domain/command_support.h is internal to domain/ (tests may look inside)"
#endif

#include <string>
#include <unordered_map>
#include <vector>

#include "domain/certificate.h"
#include "domain/commands.h"
#include "domain/event_codec.h"
#include "domain/events.h"
#include "domain/state.h"
#include "eventstore/event_store.h"

namespace certsched::domain::internal {

// Every reason a command is refused, reported together.
class Problems {
 public:
  void add(std::string m) { reasons_.push_back(std::move(m)); }
  void conflict(std::string m) {
    conflict_ = true;
    add(std::move(m));
  }
  void not_found(std::string m) {
    not_found_ = true;
    add(std::move(m));
  }
  bool empty() const { return reasons_.empty(); }
  Status status() const {
    std::string joined;
    for (const auto& r : reasons_) joined += (joined.empty() ? "" : "; ") + r;
    if (conflict_) return Status::Conflict(joined);
    if (not_found_ && reasons_.size() == 1) return Status::NotFound(joined);
    return Status::InvalidArgument(joined);
  }

 private:
  std::vector<std::string> reasons_;
  bool conflict_ = false;
  bool not_found_ = false;
};

// Groups events by stream (one StreamWrite each), keeping their order.
class AppendBuilder {
 public:
  void add(const std::string& stream, eventstore::ExpectedVersion expected, const Event& event) {
    auto it = index_.find(stream);
    if (it == index_.end()) {
      index_[stream] = writes_.size();
      writes_.push_back({stream, expected, {}});
      it = index_.find(stream);
    }
    writes_[it->second].events.push_back(encode_event(event));
  }
  bool empty() const { return writes_.empty(); }
  eventstore::AppendRequest build(const CommandContext& ctx, const std::string& correlation) {
    eventstore::AppendRequest r;
    r.writes = std::move(writes_);
    r.command_id = ctx.command_id;
    r.actor = ctx.actor;
    r.correlation_id = correlation;
    r.time_ns = ctx.now_ns;
    r.leader_epoch = ctx.leader_epoch;
    return r;
  }

 private:
  std::vector<eventstore::StreamWrite> writes_;
  std::unordered_map<std::string, size_t> index_;
};

// A partner id or certificate alias: 1-64 letters, digits, '.', '_' or '-'.
bool valid_name(const std::string& s);
// Text that goes into the log, and from there into JSON, mail and reports: well-formed UTF-8
// without control characters, so that every reader can show it as it was typed.
bool valid_text(const std::string& s);
// Adds a problem naming `what` when `value` is not valid_text. The value is not echoed: it
// is what cannot be shown.
void check_text(Problems& p, const std::string& what, const std::string& value);
bool valid_email(const std::string& s);
std::string trimmed(const std::string& s);
// A reason as it goes into the log: trimmed, not empty, text, at most 1000 characters.
// `doing` names what needs one ("cancelling").
Result<std::string> checked_reason(const std::string& reason, const std::string& doing);
Role encryption_role_for(Role signing);
// The events that make `s` current for its partner, grouped into `b`.
void add_activation(AppendBuilder& b, const DomainState& state, const ScheduleRecord& s, ActivationCause cause);

}  // namespace certsched::domain::internal
