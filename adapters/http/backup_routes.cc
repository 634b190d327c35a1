// POST /v1/backups: `certsched backup` while serve holds the store. serve writes the backup
// under its engine lock, so that nothing appends during it; the path is on serve's host, so
// only a client on that host may name one.
#include "adapters/backup.h"
#include "adapters/http/api_call.h"
#include "adapters/json_fields.h"

namespace certsched::http {

Reply post_backup(const ApiCall& call) {
  std::string dest;
  bool with_secrets = false;
  adapters::JsonFields f(call.body);
  f.only({"dest", "with_secrets"});
  f.required("dest", dest);
  f.optional("with_secrets", with_secrets);
  if (!f.ok()) return from_status(f.status());
  if (!from_loopback(call.request.peer)) {
    return error(403, "forbidden", "a backup is written on serve's host: run certsched backup there");
  }
  if (dest.empty() || dest[0] != '/') return from_status(Status::InvalidArgument("\"dest\" must be an absolute path"));
  if (!call.context.store || !call.context.projections) return error(500, "io_error", "this server makes no backups");
  return call.with_engine([&](domain::Engine&, const domain::DomainState&) {
    auto r = adapters::write_backup(*call.context.store, *call.context.projections, call.context.store_dir, dest,
                                    with_secrets);
    return r.ok() ? Reply{200, adapters::to_json(r.value())} : from_status(r.status());
  });
}

}  // namespace certsched::http
