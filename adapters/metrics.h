// `serve`'s state in the Prometheus text format (GET /metrics), written by prometheus-cpp's
// serializer: the expiry of every certificate in use (named as cert-manager names its own),
// schedules by state, overdue schedules, blocked listeners and for how long, mail, the last
// activation, append latency and the log position.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "domain/state.h"
#include "eventstore/event_store.h"

namespace certsched::adapters {

// `mail_queued`: notifications still owed (the outbox); `stats`: the writer's store.
std::string metrics_text(const domain::DomainState& state, size_t mail_queued, const eventstore::StoreStats& stats,
                         int64_t now_ns);

}  // namespace certsched::adapters
