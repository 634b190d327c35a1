// Sends mail over SMTP with libcurl, building the MIME message (text and PEM attachments)
// with curl's MIME API. A send succeeds only once the server has accepted the message.
#pragma once

#include <string>

#include "adapters/call_limits.h"
#include "base/status.h"
#include "projections/notification_outbox.h"

namespace certsched::adapters {

class SmtpMailer {
 public:
  SmtpMailer(std::string url, std::string from, CallLimits limits = {});
  // Sends `n` with a Message-ID derived from its id, so every retry carries the same one.
  // Returns that Message-ID. A send that takes longer than the limit's timeout, or that
  // the limit abandons, fails.
  Result<std::string> send(const projections::Notification& n, int64_t now_ns) const;
  static std::string message_id_for(const std::string& notification_id);

 private:
  std::string url_;
  std::string from_;
  CallLimits limits_;
};

}  // namespace certsched::adapters
