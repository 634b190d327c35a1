// Sends mail over SMTP with libcurl, building the MIME message (text and PEM attachments)
// with curl's MIME API. A send succeeds only once the server has accepted the message.
#pragma once

#include <string>

#include "base/status.h"
#include "projections/notification_outbox.h"

namespace certsched::adapters {

class SmtpMailer {
 public:
  SmtpMailer(std::string url, std::string from);
  // Sends `n` with a Message-ID derived from its id, so every retry carries the same one.
  // Returns that Message-ID.
  Result<std::string> send(const projections::Notification& n, int64_t now_ns) const;
  static std::string message_id_for(const std::string& notification_id);

 private:
  std::string url_;
  std::string from_;
};

}  // namespace certsched::adapters
