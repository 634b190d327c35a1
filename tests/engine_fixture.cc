#include "tests/engine_fixture.h"

#include <ctime>
#include <sstream>

namespace certsched::testing {

using domain::Role;

void EngineFixture::SetUpTestSuite() {
  cert_dir_ = new TempDir();
  certs_ = new std::map<std::string, CertFiles>();
  CertFactory f(cert_dir_->path());
  auto& c = *certs_;
  for (const char* name : {"sign-old", "sign-new", "enc-new", "psign-old", "psign-new"}) {
    c[name] = f.make(CertSpec(name).password("pw"));
  }
  for (const char* name : {"srv-old", "srv-new", "srv-other"}) {
    c[name] = f.make(CertSpec(name).password("pw").extended_usage("serverAuth"));
  }
  for (const char* name : {"client-old", "client-new"}) {
    c[name] = f.make(CertSpec(name).password("pw").extended_usage("clientAuth"));
  }
  c["expired"] = f.make(CertSpec("expired").password("pw").valid_days(30).made_at("2020-01-01 00:00:00"));
  c["future"] = f.make(CertSpec("future").password("pw").valid_days(30).made_at("2099-01-01 00:00:00"));
  c["sign-only"] = f.make(CertSpec("sign-only").password("pw").usage("digitalSignature"));
  now_ = static_cast<int64_t>(time(nullptr)) * 1'000'000'000;
}

void EngineFixture::TearDownTestSuite() {
  delete certs_;
  delete cert_dir_;
}

void EngineFixture::SetUp() {
  store_dir_ = std::make_unique<TempDir>();
  write_file(store_dir_->sub("store.key"), std::string(64, '7') + "\n");
  store_ = open_writer(store_dir_->path());
  auto engine = domain::Engine::open(*store_, store_dir_->path(), observers());
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  engine_ = std::move(engine).value();
  ASSERT_TRUE(engine_->initialize({"pki@example.com", smtp_url(), "certsched@example.com", {}}, ctx()).ok());
  for (const char* a : {"sign-old", "sign-new", "enc-new", "srv-old", "srv-new", "srv-other", "client-old",
                        "client-new", "sign-only"}) {
    import_local(a);
  }
  for (const char* a : {"psign-old", "psign-new"}) import_partner(a);

  auto add = [&](const std::string& id, domain::Protocol p, bool cem,
                 std::vector<std::pair<Role, std::string>> certs) {
    auto r = engine_->add_partner({id, p, id + "@partners.example", cem, std::move(certs)}, ctx());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  };
  add("acme", domain::Protocol::kAS2, false,
      {{Role::kLocalSigning, "sign-old"}, {Role::kLocalSslServer, "srv-old"},
       {Role::kLocalSslClient, "client-old"}, {Role::kPartnerSigning, "psign-old"}});
  add("globex", domain::Protocol::kAS2, true, {{Role::kLocalSigning, "sign-old"}, {Role::kLocalSslServer, "srv-old"}});
  add("initech", domain::Protocol::kFTP, false, {{Role::kLocalSigning, "sign-old"}});
  add("umbrella", domain::Protocol::kAS4, false, {{Role::kLocalSigning, "sign-old"}});
  auto l = engine_->configure_listener({domain::Listener::kHTTP, "srv-old", "/srv/certsched/http", "true"}, ctx());
  ASSERT_TRUE(l.ok()) << l.status().ToString();
}

void EngineFixture::TearDown() {
  engine_.reset();
  store_.reset();
  store_dir_.reset();
}

domain::CommandContext EngineFixture::ctx(int64_t at_ns) {
  return {"cmd-" + std::to_string(++next_command_), "test:operator", at_ns ? at_ns : now_};
}

const domain::DomainState& EngineFixture::state() { return *engine_->state().value(); }

void EngineFixture::import_local(const std::string& alias) {
  domain::ImportCertificateCommand c;
  c.alias = alias;
  c.cert_bytes = read_file((*certs_)[alias].cert_pem);
  c.key_bytes = read_file((*certs_)[alias].key_pem);
  c.password = "pw";
  auto r = engine_->import_certificate(c, ctx());
  ASSERT_TRUE(r.ok()) << alias << ": " << r.status().ToString();
}

void EngineFixture::import_partner(const std::string& alias) {
  domain::ImportCertificateCommand c;
  c.alias = alias;
  c.cert_bytes = read_file((*certs_)[alias].cert_pem);
  c.partner_cert = true;
  auto r = engine_->import_certificate(c, ctx());
  ASSERT_TRUE(r.ok()) << alias << ": " << r.status().ToString();
}

std::unique_ptr<domain::Engine> EngineFixture::reopen() {
  auto engine = domain::Engine::open(*store_, store_dir_->path());
  if (!engine.ok()) throw std::runtime_error(engine.status().ToString());
  return std::move(engine).value();
}

std::string describe(const domain::DomainState& s) {
  std::ostringstream o;
  o << "position " << s.position() << "\n";
  for (const auto* certificates : {&s.certificates(), &s.removed_certificates()}) {
    for (const auto& [alias, c] : *certificates) {
      o << "cert " << alias << " " << c.cert.fingerprint << " local=" << int(c.cert.local) << " removed=" << c.removed_at_ns
        << " " << c.removal_reason << "\n";
    }
  }
  std::vector<const domain::PartnerRecord*> partners;
  for (const auto& [id, p] : s.partners()) partners.push_back(&p);
  for (const auto& [id, p] : s.removed_partners()) partners.push_back(&p);
  for (const domain::PartnerRecord* partner : partners) {
    const domain::PartnerRecord& p = *partner;
    o << "partner " << p.id << " #" << p.generation << " v" << p.version << " " << to_string(p.protocol) << " cem=" << p.cem
      << " " << p.email << " removed=" << p.removed_at_ns << " " << p.removal_reason << "\n";
    for (size_t r = 0; r < p.current.size(); ++r) {
      if (p.current[r]) o << "  current " << to_string(static_cast<Role>(r)) << " " << p.current[r]->alias << " since " << p.current_since_ns[r] << "\n";
    }
    for (const auto& h : p.history) {
      o << "  history " << to_string(h.role) << " " << h.cert.alias << " " << h.from_ns << ".." << h.until_ns << " by " << h.replaced_by_schedule << "\n";
    }
  }
  for (const auto& id : s.schedule_ids()) {
    const auto* sc = s.schedule(id);
    o << "schedule " << id << " v" << sc->version << " " << statemachines::to_string(sc->state()) << " "
      << sc->proposed.partner << " " << to_string(sc->role()) << " " << sc->proposed.alias << " at "
      << sc->proposed.activate_at_ns << " mail=" << sc->mail_attempts << " reason=" << sc->reason << "\n";
  }
  for (uint8_t l = 0; l < domain::kListenerCount; ++l) {
    const auto* lr = s.listener(static_cast<domain::Listener>(l));
    if (!lr) continue;
    o << "listener " << to_string(lr->listener) << " v" << lr->version << " " << statemachines::to_string(lr->machine.state())
      << " current=" << (lr->current ? lr->current->alias : "-") << " pending=" << (lr->pending ? lr->pending->alias : "-")
      << " failures=" << lr->install_failures << "\n";
  }
  return o.str();
}

}  // namespace certsched::testing
