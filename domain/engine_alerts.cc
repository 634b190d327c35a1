#include "domain/engine.h"

#include "domain/command_support.h"
#include "domain/expiry_alerts.h"

namespace certsched::domain {

using eventstore::ExpectedVersion;
using namespace internal;

Result<CommandResult> Engine::raise_expiry_alerts(const CommandContext& ctx) {
  return serializable(ctx, "", [&]() -> Result<CommandResult> {
    CommandResult result;
    if (!state_.initialized()) return result;
    const std::vector<ExpiryAlertRaised> due = due_expiry_alerts(state_, ctx.now_ns);
    if (due.empty()) return result;
    AppendBuilder b;
    const uint64_t version = state_.alert_stream_version();
    for (const ExpiryAlertRaised& a : due) {
      b.add(kAlertStream, version ? ExpectedVersion::Exactly(version) : ExpectedVersion::NoStream(), a);
      result.notes.push_back(expiry_notification_id(a));
    }
    return commit(b.build(ctx, ""), std::move(result));
  });
}

}  // namespace certsched::domain
