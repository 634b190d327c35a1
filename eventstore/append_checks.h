// What every backend checks of an append request before it touches the log, and how a
// retried command id is answered. Internal to eventstore/.
#pragma once

#ifndef CERTSCHED_INTERNAL_EVENTSTORE
#error "eventstore/append_checks.h is internal to eventstore/ (tests may look inside)"
#endif

#include <string>

#include "base/status.h"
#include "eventstore/event_store.h"

namespace certsched::eventstore::internal {

// Names, sizes and counts within the record format's limits; nothing else is read.
Status validate_request(const AppendRequest& req);

// The first result of `command_id` as a duplicate, or Conflict when it was used for another
// request (a different `request_digest`).
Result<AppendResult> as_retry(const std::string& command_id, const std::string& request_digest, AppendResult first);

}  // namespace certsched::eventstore::internal
