#include "domain/streams.h"

namespace certsched::domain {
namespace {

std::string_view prefix_of(StreamKind kind) {
  switch (kind) {
    case StreamKind::kPartner: return "partner-";
    case StreamKind::kCertificate: return "cert-";
    case StreamKind::kSchedule: return "schedule-";
    case StreamKind::kListener: return "listener-";
  }
  return "";
}

std::string named(StreamKind kind, std::string_view id) {
  std::string s(prefix_of(kind));
  s.append(id);
  return s;
}

}  // namespace

std::string partner_stream(const std::string& id) { return named(StreamKind::kPartner, id); }
std::string certificate_stream(const std::string& alias) { return named(StreamKind::kCertificate, alias); }
std::string schedule_stream(const std::string& id) { return named(StreamKind::kSchedule, id); }
std::string listener_stream(Listener l) { return named(StreamKind::kListener, to_string(l)); }

std::optional<std::string_view> stream_id(std::string_view stream, StreamKind kind) {
  const std::string_view prefix = prefix_of(kind);
  if (stream.size() <= prefix.size() || stream.substr(0, prefix.size()) != prefix) return std::nullopt;
  return stream.substr(prefix.size());
}

}  // namespace certsched::domain
