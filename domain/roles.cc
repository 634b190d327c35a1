#include "domain/roles.h"

#include <array>

namespace certsched::domain {
namespace {

constexpr std::array<const char*, kRoleCount> kRoleNames = {
    "local-signing",   "local-encryption", "local-ssl-client",
    "local-ssl-server", "partner-signing",  "partner-encryption"};
constexpr std::array<const char*, kProtocolCount> kProtocolNames = {"AS2",  "AS3",  "AS4", "FTP",
                                                                    "SFTP", "OFTP", "HTTP"};
constexpr std::array<const char*, kListenerCount> kListenerNames = {"HTTP", "FTP", "OFTP", "SSHFTP"};

template <class E, size_t N>
std::optional<E> parse(std::string_view s, const std::array<const char*, N>& names) {
  for (size_t i = 0; i < N; ++i) {
    if (s == names[i]) return static_cast<E>(i);
  }
  return std::nullopt;
}

}  // namespace

const char* to_string(Role r) { return kRoleNames.at(static_cast<size_t>(r)); }
const char* to_string(Protocol p) { return kProtocolNames.at(static_cast<size_t>(p)); }
const char* to_string(Listener l) { return kListenerNames.at(static_cast<size_t>(l)); }
std::optional<Role> parse_role(std::string_view s) { return parse<Role>(s, kRoleNames); }
std::optional<Protocol> parse_protocol(std::string_view s) { return parse<Protocol>(s, kProtocolNames); }
std::optional<Listener> parse_listener(std::string_view s) { return parse<Listener>(s, kListenerNames); }

Listener listener_for(Protocol p) {
  switch (p) {
    case Protocol::kAS2:
    case Protocol::kAS4:
    case Protocol::kHTTP: return Listener::kHTTP;
    case Protocol::kAS3:
    case Protocol::kFTP: return Listener::kFTP;
    case Protocol::kOFTP: return Listener::kOFTP;
    case Protocol::kSFTP: return Listener::kSSHFTP;
  }
  return Listener::kHTTP;
}

bool first_usage_applies(Protocol p, bool cem, Role r) {
  return (p == Protocol::kAS2 || p == Protocol::kAS3) && !cem &&
         (r == Role::kLocalEncryption || r == Role::kPartnerSigning);
}

}  // namespace certsched::domain
