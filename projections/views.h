// The JSON shapes of CLI.md (also the HTTP API's), built from the domain state. The
// persisted projections store these same documents.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>

#include "domain/commands.h"
#include "domain/state.h"

namespace certsched::projections {

nlohmann::json cert_json(const domain::CertRef& c);
nlohmann::json certificate_json(const domain::CertificateRecord& c);
nlohmann::json schedule_json(const domain::ScheduleRecord& s);
nlohmann::json partner_json(const domain::DomainState& state, const domain::PartnerRecord& p);
// What `partner add` and `partner update` answer (CLI and API): the partner. A retried
// command is answered with its first result even when the partner has been removed since;
// the answer is then the removed partner (removed_partner_json).
nlohmann::json partner_answer_json(const domain::DomainState& state, const std::string& id);
// What `cert import` answers (CLI and API): the certificate, the roles it fits, the
// warnings, and whether the same certificate was already there. A retried import of a
// certificate removed since also says when, by whom and why it was removed.
nlohmann::json imported_certificate_json(const domain::DomainState& state, const std::string& alias,
                                         const domain::CommandResult& r);
// What `partner remove` and `cert remove` answer: what was removed, when, by whom and why.
nlohmann::json removed_partner_json(const domain::PartnerRecord& p);
nlohmann::json removed_certificate_json(const domain::CertificateRecord& c, const domain::CommandResult& r);
// With `now_ns`, a pending certificate also names the partners that block its install
// ("blocked_by") and says why the install waits then ("blocked_because", "waiting_for").
nlohmann::json listener_json(const domain::DomainState& state, const domain::ListenerRecord& l,
                             std::optional<int64_t> now_ns);
nlohmann::json result_json(const domain::CommandResult& r);
// `options show`: {"admin_email", "smtp", "mail_from", "expiry_alert_days"}.
nlohmann::json options_json(const domain::DomainState& state);

// The same documents as schedule_json and partner_json, as the text json_text() makes of
// them, written without building a document first (the projections write these).
std::string schedule_text(const domain::ScheduleRecord& s);
std::string partner_text(const domain::DomainState& state, const domain::PartnerRecord& p);

}  // namespace certsched::projections
