// What every backend checks of an append request before it touches the log, and how a
// retried command id is answered. Internal to eventstore/.
#pragma once

#ifndef CERTSCHED_INTERNAL_EVENTSTORE
#error "eventstore/append_checks.h is internal to eventstore/ (tests may look inside)"
#endif

#include <string>
#include <string_view>

#include "base/status.h"
#include "eventstore/event_store.h"

namespace certsched::eventstore::internal {

// Names, sizes and counts within the record format's limits; nothing else is read.
Status validate_request(const AppendRequest& req);

// The first result of `command_id` as a duplicate, or Conflict when it was used for another
// request (a different `request_digest`).
Result<AppendResult> as_retry(const std::string& command_id, const std::string& request_digest, AppendResult first);

// The refusals of AppendRequest::expected_head and ::leader_epoch, which head_moved() and
// fenced() recognise.
Status head_moved_refusal(uint64_t checked_at, uint64_t head_position);
Status fenced_refusal(uint64_t request_epoch, uint64_t store_epoch);

// What a command id maps to in every backend: the positions its append got and the digest
// of its request.
std::string encode_append_result(const AppendResult& r);
Status decode_append_result(std::string_view v, AppendResult* r);

}  // namespace certsched::eventstore::internal
