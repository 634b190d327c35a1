// Delivers the outbox: each due notification is sent, and only after the SMTP server has
// accepted it is it recorded as delivered (partner mails: PartnerMailSent for each of its
// schedules; admin mails: NotificationDelivered). A refusal is recorded too, which sets
// the next retry time. Delivery is at least once: a crash between the server's "accepted"
// and the record resends the same message with the same Message-ID.
#pragma once

#include <mutex>

#include "adapters/smtp_mailer.h"
#include "domain/engine.h"
#include "projections/notification_outbox.h"

namespace certsched::adapters {

struct DeliveryReport {
  int delivered = 0;
  int failed = 0;
  std::vector<std::string> errors;
};

// With `engine_lock` (serve's, shared with the API, held on entry), the lock is released
// while each mail is sent, so that a slow or hung SMTP server stalls no API request, and
// taken again to record the outcome.
// A send the limits abandon is not recorded, and ends the delivery.
Result<DeliveryReport> deliver_due(domain::Engine& engine, projections::NotificationOutbox& outbox,
                                   const domain::CommandContext& ctx,
                                   std::unique_lock<std::mutex>* engine_lock = nullptr, CallLimits limits = {});

// The mailer for the store's configured SMTP server and sender.
SmtpMailer mailer_for(const domain::DomainState& state, CallLimits limits = {});

}  // namespace certsched::adapters
