#include "benchmarks/population.h"
#include "base/clock.h"

#include <chrono>
#include <stdexcept>

namespace certsched::bench {

Population::Population(const std::string& dir, bool sync, bool read_models) : dir_(dir) {
  eventstore::StoreOptions o;
  o.create_if_missing = true;
  o.sync = sync;
  o.holder = "certsched-bench";
  store_ = must(eventstore::open_rocksdb_store(dir, o), "open the store");
  std::vector<domain::EventObserver*> observers;
  if (read_models) {
    projections_ = must(projections::ProjectionStore::open(dir, false, &outbox_), "open the projections");
    observers = {&outbox_, projections_.get()};
  }
  engine_ = must(domain::Engine::open(*store_, dir, observers), "open the engine");
}

Population::~Population() = default;

domain::CommandContext Population::ctx() {
  return {"bench-" + std::to_string(base::now_ns()) + "-" + std::to_string(++commands_), "cli:bench", base::now_ns()};
}

void Population::import_partner_cert(const std::string& alias, CertMinter& minter) {
  domain::ImportCertificateCommand c;
  c.alias = alias;
  c.cert_bytes = minter.mint(alias);
  c.partner_cert = true;
  must(engine_->import_certificate(c, ctx()), "import a certificate");
}

void Population::seed(size_t partners, bool own_certificate_each, CertMinter& minter, const std::string& smtp_url) {
  must(engine_->initialize({"pki-admin@example.com", smtp_url, "certsched@example.com", {}}, ctx()), "init");
  if (!own_certificate_each) import_partner_cert("partner-a", minter);
  for (size_t i = 0; i < partners; ++i) {
    const std::string id = "p" + std::to_string(i);
    const std::string alias = own_certificate_each ? id + "-sign" : "partner-a";
    if (own_certificate_each) import_partner_cert(alias, minter);
    domain::AddPartnerCommand c;
    c.id = id;
    c.email = "edi@" + id + ".example";
    c.certificates = {{domain::Role::kPartnerSigning, alias}};
    must(engine_->add_partner(c, ctx()), "add a partner");
  }
}

}  // namespace certsched::bench
