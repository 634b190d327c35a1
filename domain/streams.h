// The log's stream names, built and parsed here only: one stream per partner
// ("partner-ID"), certificate ("cert-ALIAS"), schedule ("schedule-ID") and listener
// ("listener-HTTP"), beside the "system" and "notifications" streams.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "domain/roles.h"

namespace certsched::domain {

enum class StreamKind { kPartner, kCertificate, kSchedule, kListener };

inline const char* kSystemStream = "system";
inline const char* kNotificationStream = "notifications";
inline const char* kAlertStream = "alerts";

std::string partner_stream(const std::string& id);
std::string certificate_stream(const std::string& alias);
std::string schedule_stream(const std::string& id);
std::string listener_stream(Listener l);

// The id `stream` names if it is a stream of `kind` ("acme" of "partner-acme"), else
// nullopt. The view points into `stream`.
std::optional<std::string_view> stream_id(std::string_view stream, StreamKind kind);

}  // namespace certsched::domain
