// A certsched store filled through the engine, as an operator would fill it: init, partner
// certificates imported, partners added. The figures that need a realistic log start here.
#pragma once

#include <memory>
#include <string>

#include "benchmarks/cert_minter.h"
#include "domain/engine.h"
#include "projections/notification_outbox.h"
#include "projections/projection_store.h"

namespace certsched::bench {

class Population {
 public:
  // Opens (creating) the store in `dir`. `sync` false speeds up building a workload; the
  // figures that time durable commands reopen it with sync. With read models, the outbox
  // and the persisted projections are fed as `serve` feeds them.
  Population(const std::string& dir, bool sync, bool read_models);
  ~Population();

  // init (with `smtp_url`, which nothing here contacts), then `partners` partners named p0,
  // p1, ... with a partner-signing certificate: their own each, or one shared "partner-a".
  void seed(size_t partners, bool own_certificate_each, CertMinter& minter, const std::string& smtp_url = "");
  // Imports a partner certificate under `alias`.
  void import_partner_cert(const std::string& alias, CertMinter& minter);

  domain::Engine& engine() { return *engine_; }
  eventstore::EventStore& store() { return *store_; }
  // A fresh command context at the current time.
  domain::CommandContext ctx();

 private:
  std::string dir_;
  std::unique_ptr<eventstore::EventStore> store_;
  projections::NotificationOutbox outbox_;
  std::unique_ptr<projections::ProjectionStore> projections_;
  std::unique_ptr<domain::Engine> engine_;
  uint64_t commands_ = 0;
};

// Returns `r`'s value or throws its error: a benchmark that cannot run stops loudly.
template <class T>
T must(Result<T> r, const char* what) {
  if (!r.ok()) throw std::runtime_error(std::string(what) + ": " + r.status().message());
  return std::move(r).value();
}


}  // namespace certsched::bench
