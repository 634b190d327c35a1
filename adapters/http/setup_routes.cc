// The API's setup commands: certificates and partners, so that onboarding needs no stop of
// serve. The same validation as the CLI's (the engine's), and the same answers.
#include "adapters/http/api_call.h"
#include "adapters/setup_json.h"
#include "projections/views.h"

namespace certsched::http {

Reply post_certificate(const ApiCall& call) {
  auto c = adapters::import_from_json(call.body);
  if (!c.ok()) return from_status(c.status());
  Reply reply = call.with_engine([&](domain::Engine& e, const domain::DomainState&) {
    auto r = e.import_certificate(c.value(), call.command);
    if (!r.ok()) return from_status(r.status());
    const domain::DomainState& s = *e.state().value();
    return Reply{200, projections::imported_certificate_json(*s.certificate(c->alias), r.value())};
  });
  domain::secure_wipe(c->password);
  if (c->key_bytes) domain::secure_wipe(*c->key_bytes);
  if (c->pkcs12_bytes) domain::secure_wipe(*c->pkcs12_bytes);
  return reply;
}

Reply post_partner(const ApiCall& call) {
  auto c = adapters::add_partner_from_json(call.body);
  if (!c.ok()) return from_status(c.status());
  return call.with_engine([&](domain::Engine& e, const domain::DomainState&) {
    auto r = e.add_partner(c.value(), call.command);
    if (!r.ok()) return from_status(r.status());
    const domain::DomainState& s = *e.state().value();
    nlohmann::json j = projections::partner_json(s, *s.partner(c->id));
    j["warnings"] = r->warnings;
    return Reply{200, j};
  });
}

}  // namespace certsched::http
