// Roles, protocols and listeners, and the fixed rules that connect them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace certsched::domain {

enum class Role : uint8_t {
  kLocalSigning,
  kLocalEncryption,
  kLocalSslClient,
  kLocalSslServer,
  kPartnerSigning,
  kPartnerEncryption,
};
inline constexpr uint8_t kRoleCount = 6;

enum class Protocol : uint8_t { kAS2, kAS3, kAS4, kFTP, kSFTP, kOFTP, kHTTP };
inline constexpr uint8_t kProtocolCount = 7;

enum class Listener : uint8_t { kHTTP, kFTP, kOFTP, kSSHFTP };
inline constexpr uint8_t kListenerCount = 4;

const char* to_string(Role r);
const char* to_string(Protocol p);
const char* to_string(Listener l);
std::optional<Role> parse_role(std::string_view s);
std::optional<Protocol> parse_protocol(std::string_view s);
std::optional<Listener> parse_listener(std::string_view s);

// Local roles use a certificate with our private key; partner roles the partner's public one.
inline bool is_local(Role r) { return static_cast<uint8_t>(r) <= static_cast<uint8_t>(Role::kLocalSslServer); }

// HTTP serves AS2, AS4 and HTTP; FTP serves AS3 and FTP; OFTP serves OFTP; SSHFTP serves SFTP.
Listener listener_for(Protocol p);

// First usage can activate a schedule only for non-CEM AS2/AS3 partners, and only for a
// new local encryption or partner signing certificate.
bool first_usage_applies(Protocol p, bool cem, Role r);

}  // namespace certsched::domain
