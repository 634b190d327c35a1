// What an operator's command asked, digested. The event store keeps it with the command's
// result under its command id, so that a retry (same id, same request) gets the first
// result and another request that reuses the id is refused. Secrets — passwords and
// private keys — are left out; nothing here could reveal one.
// Internal to domain/.
#pragma once

#ifndef CERTSCHED_INTERNAL_DOMAIN
#error "domain/request_digest.h is internal to domain/ (tests may look inside)"
#endif

#include <initializer_list>
#include <string>
#include <string_view>

#include "domain/commands.h"

namespace certsched::domain {

// SHA-256 (32 bytes) over the fields, each length-prefixed so that no two lists collide.
std::string request_digest(std::initializer_list<std::string_view> fields);

std::string request_digest(const InitCommand& c);
std::string request_digest(const SetOptionsCommand& c);
std::string request_digest(const ImportCertificateCommand& c);
std::string request_digest(const AddPartnerCommand& c);
std::string request_digest(const UpdatePartnerCommand& c);
std::string request_digest(const ConfigureListenerCommand& c);
std::string request_digest(const ProposeCommand& c);

}  // namespace certsched::domain
