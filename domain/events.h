// Domain events: plain structs with fixed-width fields, held in one std::variant.
// Each names itself (kType) and its payload schema version (kSchemaVersion); a stored
// event whose name or version is unknown is corruption, never guessed at.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

namespace certsched::domain {

// `certsched init`: the system options every later command reads.
struct SystemInitialized {
  static constexpr const char* kType = "SystemInitialized";
  static constexpr uint16_t kSchemaVersion = 1;
  std::string admin_email;
  std::string smtp_url;   // empty when no SMTP server is configured
  std::string mail_from;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(admin_email, smtp_url, mail_from);
  }
  bool operator==(const SystemInitialized& o) const {
    return admin_email == o.admin_email && smtp_url == o.smtp_url && mail_from == o.mail_from;
  }
};

using Event = std::variant<SystemInitialized>;

}  // namespace certsched::domain
