#include "domain/command_support.h"

#include <regex>


namespace certsched::domain::internal {

using eventstore::ExpectedVersion;

bool valid_name(const std::string& s) {
  static const std::regex kName("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$");
  return std::regex_match(s, kName);
}

bool valid_text(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    // Lead byte: the sequence length and the smallest code point it may encode (no overlongs).
    const int len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    uint32_t cp = c & (0xff >> (len + 1));
    for (int k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
      return false;
    }
    i += len;
  }
  return true;
}

void check_text(Problems& p, const std::string& what, const std::string& value) {
  if (!valid_text(value)) p.add(what + " must be UTF-8 text without control characters");
}

bool valid_email(const std::string& s) {
  static const std::regex kEmail(R"(^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$|^[^@\s<>,;]+@localhost$)");
  return s.size() <= 254 && std::regex_match(s, kEmail);
}

std::string trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

Result<std::string> checked_reason(const std::string& reason, const std::string& doing) {
  std::string why = trimmed(reason);
  if (why.empty()) return Status::InvalidArgument(doing + " needs a reason");
  if (!valid_text(why)) return Status::InvalidArgument("the reason must be UTF-8 text without control characters");
  if (why.size() > 1000) return Status::InvalidArgument("the reason is longer than 1000 characters");
  return why;
}

Role encryption_role_for(Role signing) {
  return signing == Role::kLocalSigning ? Role::kLocalEncryption : Role::kPartnerEncryption;
}

// The events that make `s` current for its partner, grouped into `b`.
void add_activation(AppendBuilder& b, const DomainState& state, const ScheduleRecord& s, ActivationCause cause) {
  const PartnerRecord* partner = state.partner(s.proposed.partner);
  const auto& previous = partner->current[s.proposed.role];
  b.add(schedule_stream(s.proposed.schedule_id), ExpectedVersion::Exactly(s.version),
        ScheduleActivated{static_cast<uint8_t>(cause), previous ? previous->alias : "",
                          previous ? previous->fingerprint : ""});
  b.add(partner_stream(partner->id), ExpectedVersion::Exactly(partner->version),
        PartnerCertificateActivated{s.proposed.role, s.proposed.alias, s.proposed.fingerprint, s.proposed.schedule_id});
}

}  // namespace certsched::domain::internal
