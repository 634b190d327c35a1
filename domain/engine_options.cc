// The system options: set by init, changed by `options set`, each change an audited event.
#include "domain/engine.h"

#include <algorithm>

#include "domain/command_support.h"
#include "domain/request_digest.h"

namespace certsched::domain {

using eventstore::ExpectedVersion;
using namespace internal;

namespace {

constexpr const char* kDefaultSender = "certsched@localhost";

// The options as they would be, checked together; every problem is added to `p`.
void check_options(Problems& p, const SystemOptionsChanged& o) {
  check_text(p, "the admin email", o.admin_email);
  check_text(p, "the sender address", o.mail_from);
  check_text(p, "the SMTP URL", o.smtp_url);
  if (!p.empty()) return;
  if (!valid_email(o.admin_email)) p.add("admin email '" + o.admin_email + "' is not an email address (like pki@example.com)");
  if (!valid_email(o.mail_from)) p.add("sender '" + o.mail_from + "' is not an email address");
  if (!o.smtp_url.empty() && o.smtp_url.rfind("smtp://", 0) != 0 && o.smtp_url.rfind("smtps://", 0) != 0) {
    p.add("SMTP URL '" + o.smtp_url + "' must start with smtp:// or smtps:// (like smtp://127.0.0.1:25)");
  }
  if (o.expiry_alert_days.size() > SystemOptionsChanged::kMaxExpiryAlerts) {
    p.add("give at most " + std::to_string(SystemOptionsChanged::kMaxExpiryAlerts) + " expiry alert thresholds");
  }
  for (size_t i = 0; i < o.expiry_alert_days.size(); ++i) {
    const uint32_t d = o.expiry_alert_days[i];
    if (d < 1 || d > 3650) p.add("expiry alert threshold " + std::to_string(d) + " must be 1 to 3650 days");
    if (i > 0 && d == o.expiry_alert_days[i - 1]) p.add("expiry alert threshold " + std::to_string(d) + " is given twice");
  }
}

std::vector<uint32_t> descending(std::vector<uint32_t> days) {
  std::sort(days.begin(), days.end(), std::greater<uint32_t>());
  return days;
}

}  // namespace

Result<CommandResult> Engine::initialize(const InitCommand& c, const CommandContext& ctx) {
  return serializable(ctx, request_digest(c), [&]() -> Result<CommandResult> {
    Problems p;
    if (state_.initialized()) p.conflict("the store is already initialised");
    const SystemInitialized init{c.admin_email, c.smtp_url, c.mail_from.empty() ? kDefaultSender : c.mail_from};
    const std::vector<uint32_t> days = c.expiry_alert_days.empty() ? kDefaultExpiryAlertDays : descending(c.expiry_alert_days);
    check_options(p, {init.admin_email, init.smtp_url, init.mail_from, days});
    if (!p.empty()) return p.status();
    AppendBuilder b;
    b.add(kSystemStream, ExpectedVersion::NoStream(), init);
    if (days != kDefaultExpiryAlertDays) {
      b.add(kSystemStream, ExpectedVersion::NoStream(),
            SystemOptionsChanged{init.admin_email, init.smtp_url, init.mail_from, days});
    }
    return commit(b.build(ctx, ""), {});
  });
}

Result<CommandResult> Engine::set_options(const SetOptionsCommand& c, const CommandContext& ctx) {
  return serializable(ctx, request_digest(c), [&]() -> Result<CommandResult> {
    if (!state_.initialized()) return Status::InvalidArgument("the store is not initialised");
    const SystemInitialized& now = *state_.system();
    SystemOptionsChanged next{c.admin_email.value_or(now.admin_email), c.smtp_url.value_or(now.smtp_url),
                              c.mail_from.value_or(now.mail_from),
                              c.expiry_alert_days ? descending(*c.expiry_alert_days) : state_.expiry_alert_days()};
    Problems p;
    if (!c.admin_email && !c.smtp_url && !c.mail_from && !c.expiry_alert_days) {
      p.add("name at least one option to change");
    }
    check_options(p, next);
    if (!p.empty()) return p.status();
    if (next.admin_email == now.admin_email && next.smtp_url == now.smtp_url && next.mail_from == now.mail_from &&
        next.expiry_alert_days == state_.expiry_alert_days()) {
      return Status::Conflict("the system options are already so; nothing was changed");
    }
    AppendBuilder b;
    b.add(kSystemStream, ExpectedVersion::Exactly(state_.system_version()), next);
    return commit(b.build(ctx, ""), {});
  });
}

}  // namespace certsched::domain
