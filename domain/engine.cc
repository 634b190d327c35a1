#include "domain/engine.h"

#include <algorithm>
#include <regex>
#include <set>
#include <unordered_map>

#include "domain/event_codec.h"
#include "domain/instant.h"
#include "domain/key_vault.h"
#include "domain/request_digest.h"
#include "eventstore/read_ahead.h"

namespace certsched::domain {

using eventstore::ExpectedVersion;
using statemachines::ScheduleState;
using statemachines::ScheduleTrigger;

namespace {

// Every reason a command is refused, reported together.
class Problems {
 public:
  void add(std::string m) { reasons_.push_back(std::move(m)); }
  void conflict(std::string m) {
    conflict_ = true;
    add(std::move(m));
  }
  void not_found(std::string m) {
    not_found_ = true;
    add(std::move(m));
  }
  bool empty() const { return reasons_.empty(); }
  Status status() const {
    std::string joined;
    for (const auto& r : reasons_) joined += (joined.empty() ? "" : "; ") + r;
    if (conflict_) return Status::Conflict(joined);
    if (not_found_ && reasons_.size() == 1) return Status::NotFound(joined);
    return Status::InvalidArgument(joined);
  }

 private:
  std::vector<std::string> reasons_;
  bool conflict_ = false;
  bool not_found_ = false;
};

// Groups events by stream (one StreamWrite each), keeping their order.
class AppendBuilder {
 public:
  void add(const std::string& stream, ExpectedVersion expected, const Event& event) {
    auto it = index_.find(stream);
    if (it == index_.end()) {
      index_[stream] = writes_.size();
      writes_.push_back({stream, expected, {}});
      it = index_.find(stream);
    }
    writes_[it->second].events.push_back(encode_event(event));
  }
  bool empty() const { return writes_.empty(); }
  eventstore::AppendRequest build(const CommandContext& ctx, const std::string& correlation) {
    eventstore::AppendRequest r;
    r.writes = std::move(writes_);
    r.command_id = ctx.command_id;
    r.actor = ctx.actor;
    r.correlation_id = correlation;
    r.time_ns = ctx.now_ns;
    return r;
  }

 private:
  std::vector<eventstore::StreamWrite> writes_;
  std::unordered_map<std::string, size_t> index_;
};

bool valid_name(const std::string& s) {
  static const std::regex kName("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$");
  return std::regex_match(s, kName);
}

// Text that goes into the log, and from there into JSON, mail and reports: well-formed UTF-8
// without control characters, so that every reader can show it as it was typed.
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

// Adds a problem naming `what` when `value` is not valid_text. The value is not echoed: it
// is what cannot be shown.
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

CertificateInfo info_of(const CertificateImported& c) {
  CertificateInfo i;
  i.fingerprint = c.fingerprint;
  i.subject = c.subject;
  i.issuer = c.issuer;
  i.serial = c.serial;
  i.not_before_ns = c.not_before_ns;
  i.not_after_ns = c.not_after_ns;
  i.key_usage = c.key_usage;
  i.extended_key_usage = c.extended_key_usage;
  i.key_type = c.key_type;
  i.der = c.der;
  i.chain_der = c.chain_der;
  return i;
}

Role encryption_role_for(Role signing) {
  return signing == Role::kLocalSigning ? Role::kLocalEncryption : Role::kPartnerEncryption;
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::open(eventstore::EventStore& store, std::string store_dir,
                                             std::vector<EventObserver*> observers) {
  std::unique_ptr<Engine> engine(new Engine(store, std::move(store_dir)));
  engine->observers_ = std::move(observers);
  CERTSCHED_RETURN_IF_ERROR(engine->catch_up());
  return engine;
}

namespace {

// Events read and decoded at a time. Small enough that the batches in flight (two while
// reading ahead) stay a few MiB beside the state they build.
constexpr size_t kCatchUpBatch = 1024;

// A batch of the log, read and decoded.
struct DecodedBatch {
  std::vector<eventstore::RecordedEvent> records;
  std::vector<Event> events;
};

// Reads up to kCatchUpBatch records from `from` on and decodes them. An event that does
// not decode ends the batch (the records before it stay) and its error is returned.
Status read_decoded(eventstore::EventStore& store, uint64_t from, DecodedBatch* b) {
  b->events.clear();
  CERTSCHED_RETURN_IF_ERROR(store.read_all(from, kCatchUpBatch, &b->records));
  for (size_t i = 0; i < b->records.size(); ++i) {
    auto event = decode_event(b->records[i]);
    if (!event.ok()) {
      b->records.resize(i);
      return event.status();
    }
    b->events.push_back(std::move(event.value()));
  }
  return Status::Ok();
}

}  // namespace

Status Engine::catch_up() {
  DecodedBatch batch;
  const Status read = read_decoded(store_, state_.position() + 1, &batch);
  CERTSCHED_RETURN_IF_ERROR(apply_decoded(batch.records, batch.events));
  CERTSCHED_RETURN_IF_ERROR(read);
  if (batch.records.size() == kCatchUpBatch) {
    // Far behind (opening a store, rebuilding projections): the rest is read and decoded
    // on a second core while this one applies.
    uint64_t next = batch.records.back().position + 1;
    batch = DecodedBatch();  // two more are in flight from here on
    CERTSCHED_RETURN_IF_ERROR(eventstore::read_ahead<DecodedBatch>(
        [&](DecodedBatch* b, bool* more) {
          const Status st = read_decoded(store_, next, b);
          if (!b->records.empty()) next = b->records.back().position + 1;
          *more = b->records.size() == kCatchUpBatch;  // a short batch reached the head
          return st;
        },
        [&](const DecodedBatch& b) { return apply_decoded(b.records, b.events); }));
  }
  for (EventObserver* o : observers_) CERTSCHED_RETURN_IF_ERROR(o->on_caught_up());
  return Status::Ok();
}

Status Engine::apply_decoded(const std::vector<eventstore::RecordedEvent>& records, const std::vector<Event>& events) {
  for (size_t i = 0; i < events.size(); ++i) {
    CERTSCHED_RETURN_IF_ERROR(state_.apply(records[i], events[i]));
    for (EventObserver* o : observers_) CERTSCHED_RETURN_IF_ERROR(o->on_event(records[i], events[i], state_));
  }
  return Status::Ok();
}

Result<const DomainState*> Engine::state() {
  std::lock_guard<std::mutex> l(mu_);
  CERTSCHED_RETURN_IF_ERROR(catch_up());
  return &state_;
}

Result<std::optional<CommandResult>> Engine::previous_result(const CommandContext& ctx) {
  if (ctx.command_id.empty()) return Status::InvalidArgument("the command has no command id");
  auto previous = store_.command_result(ctx.command_id, request_digest_);
  if (!previous.ok()) return previous.status();
  if (!previous.value()) return std::optional<CommandResult>();
  CommandResult r;
  r.first_position = previous.value()->first_position;
  r.last_position = previous.value()->last_position;
  r.duplicate = true;
  auto events = store_.read_all(r.first_position, r.last_position - r.first_position + 1);
  if (!events.ok()) return events.status();
  for (const auto& e : events.value()) {
    if (!e.correlation_id.empty()) r.proposal_id = e.correlation_id;
    if (e.stream.rfind("schedule-", 0) == 0) {
      const std::string id = e.stream.substr(9);
      if (std::find(r.schedule_ids.begin(), r.schedule_ids.end(), id) == r.schedule_ids.end()) {
        r.schedule_ids.push_back(id);
      }
    }
  }
  return std::optional<CommandResult>(std::move(r));
}

Result<CommandResult> Engine::commit(eventstore::AppendRequest request, CommandResult result) {
  request.request_digest = request_digest_;
  auto appended = store_.append(request);
  if (!appended.ok()) return appended.status();
  result.first_position = appended->first_position;
  result.last_position = appended->last_position;
  result.duplicate = appended->duplicate;
  CERTSCHED_RETURN_IF_ERROR(catch_up());
  return result;
}

// Runs `body` with the engine locked, after catching up and answering a retried command
// with its first result (or refusing a command id reused for another request: `digest`
// is what this one asked, and is stored with its result).
#define CERTSCHED_BEGIN_COMMAND(ctx, digest)                          \
  std::lock_guard<std::mutex> lock_(mu_);                             \
  CERTSCHED_RETURN_IF_ERROR(catch_up());                              \
  request_digest_ = digest;                                           \
  {                                                                   \
    auto previous = previous_result(ctx);                             \
    if (!previous.ok()) return previous.status();                     \
    if (previous.value()) return std::move(*previous.value());        \
  }

Result<CommandResult> Engine::initialize(const InitCommand& c, const CommandContext& ctx) {
  CERTSCHED_BEGIN_COMMAND(ctx, request_digest(c));
  Problems p;
  if (state_.initialized()) p.conflict("the store is already initialised");
  check_text(p, "the admin email", c.admin_email);
  check_text(p, "the sender (--mail-from)", c.mail_from);
  check_text(p, "the SMTP URL", c.smtp_url);
  if (!p.empty()) return p.status();
  if (!valid_email(c.admin_email)) p.add("admin email '" + c.admin_email + "' is not an email address (like pki@example.com)");
  if (!c.mail_from.empty() && !valid_email(c.mail_from)) p.add("sender '" + c.mail_from + "' is not an email address");
  if (!c.smtp_url.empty() && c.smtp_url.rfind("smtp://", 0) != 0 && c.smtp_url.rfind("smtps://", 0) != 0) {
    p.add("SMTP URL '" + c.smtp_url + "' must start with smtp:// or smtps:// (like smtp://127.0.0.1:25)");
  }
  if (!p.empty()) return p.status();
  AppendBuilder b;
  b.add(kSystemStream, ExpectedVersion::NoStream(),
        SystemInitialized{c.admin_email, c.smtp_url, c.mail_from.empty() ? "certsched@localhost" : c.mail_from});
  return commit(b.build(ctx, ""), {});
}

Result<CommandResult> Engine::import_certificate(const ImportCertificateCommand& c, const CommandContext& ctx) {
  CERTSCHED_BEGIN_COMMAND(ctx, request_digest(c));
  Problems p;
  if (!state_.initialized()) return Status::InvalidArgument("the store is not initialised: run `certsched init` first");
  if (!valid_name(c.alias)) p.add("alias '" + c.alias + "' must be 1-64 letters, digits, '.', '_' or '-'");
  else if (state_.certificate(c.alias)) p.conflict("certificate alias " + c.alias + " already exists");
  if (!p.empty()) return p.status();

  auto loaded = c.pkcs12_bytes ? load_pkcs12(*c.pkcs12_bytes, c.password)
                               : load_certificate(c.cert_bytes, c.key_bytes, c.password);
  if (!loaded.ok()) return Status::InvalidArgument("certificate " + c.alias + ": " + loaded.status().message());
  CertificateMaterial& m = loaded.value();
  const bool has_key = !m.key_pkcs8.empty();
  if (c.partner_cert && has_key) {
    p.add("a partner certificate is public: import it without its private key");
  }
  if (!c.partner_cert && !has_key) {
    p.add("a local certificate needs its private key (--key or --pkcs12); for a partner's "
          "certificate add --partner-cert");
  }
  if (const CertificateRecord* same = state_.certificate_by_fingerprint(m.info.fingerprint)) {
    p.conflict("this certificate is already imported as " + same->cert.alias);
  }
  CommandResult result;
  for (const Finding& f : check_validity(m.info, ctx.now_ns, /*not_yet_valid_is_error=*/false)) {
    if (f.error) p.add(f.message);
    else result.warnings.push_back(f.message);
  }
  if (!p.empty()) return p.status();
  const auto fits = fitting_roles(m.info, has_key);
  if (fits.empty()) {
    result.warnings.push_back(std::string("its key usage fits no ") + (has_key ? "local" : "partner") + " role");
  }

  if (has_key) {
    // Sealed before the event is appended, so no event ever names a key that is not there.
    auto vault = KeyVault::open(store_dir_);
    if (!vault.ok()) return vault.status();
    CERTSCHED_RETURN_IF_ERROR(vault->put(m.info.fingerprint, SealedKey{std::move(m.key_pkcs8), std::move(m.key_protected)}));
  }
  CertificateImported e;
  e.alias = c.alias;
  e.local = has_key ? 1 : 0;
  e.fingerprint = m.info.fingerprint;
  e.subject = m.info.subject;
  e.issuer = m.info.issuer;
  e.serial = m.info.serial;
  e.not_before_ns = m.info.not_before_ns;
  e.not_after_ns = m.info.not_after_ns;
  e.key_usage = m.info.key_usage;
  e.extended_key_usage = m.info.extended_key_usage;
  e.key_type = m.info.key_type;
  e.der = m.info.der;
  e.chain_der = m.info.chain_der;
  AppendBuilder b;
  b.add(certificate_stream(c.alias), ExpectedVersion::NoStream(), e);
  for (Role r : fits) result.notes.push_back(std::string("fits ") + to_string(r));
  return commit(b.build(ctx, ""), std::move(result));
}

Result<CommandResult> Engine::add_partner(const AddPartnerCommand& c, const CommandContext& ctx) {
  CERTSCHED_BEGIN_COMMAND(ctx, request_digest(c));
  Problems p;
  if (!state_.initialized()) return Status::InvalidArgument("the store is not initialised: run `certsched init` first");
  if (!valid_name(c.id)) p.add("partner id '" + c.id + "' must be 1-64 letters, digits, '.', '_' or '-'");
  else if (state_.partner(c.id)) p.conflict("partner " + c.id + " already exists");
  check_text(p, "the partner email", c.email);
  if (valid_text(c.email) && !valid_email(c.email)) p.add("partner email '" + c.email + "' is not an email address");
  PartnerAdded e;
  e.id = c.id;
  e.protocol = static_cast<uint8_t>(c.protocol);
  e.email = c.email;
  e.cem = c.cem ? 1 : 0;
  CommandResult result;
  std::set<Role> seen;
  for (const auto& [role, alias] : c.certificates) {
    if (!seen.insert(role).second) {
      p.add(std::string("role ") + to_string(role) + " is given twice");
      continue;
    }
    const CertificateRecord* cert = state_.certificate(alias);
    if (!cert) {
      p.add("no certificate with alias " + alias + " (import it with `cert import`)");
      continue;
    }
    if ((cert->cert.local != 0) != is_local(role)) {
      p.add("certificate " + alias + " is a " + (cert->cert.local ? "local" : "partner") +
            " certificate and cannot serve as " + to_string(role));
      continue;
    }
    for (const Finding& f : check_validity(info_of(cert->cert), ctx.now_ns, false)) {
      if (f.error) p.add(f.message);
      else result.warnings.push_back(f.message);
    }
    for (const Finding& f : check_role_fit(info_of(cert->cert), role)) {
      if (f.error) p.add(f.message);
      else result.warnings.push_back(f.message);
    }
    e.certificates.push_back({static_cast<uint8_t>(role), alias, cert->cert.fingerprint});
  }
  if (!p.empty()) return p.status();
  AppendBuilder b;
  b.add(partner_stream(c.id), ExpectedVersion::NoStream(), e);
  return commit(b.build(ctx, ""), std::move(result));
}

Result<CommandResult> Engine::configure_listener(const ConfigureListenerCommand& c, const CommandContext& ctx,
                                                 ListenerInstaller* installer) {
  CERTSCHED_BEGIN_COMMAND(ctx, request_digest(c));
  Problems p;
  if (!state_.initialized()) return Status::InvalidArgument("the store is not initialised: run `certsched init` first");
  const CertificateRecord* cert = state_.certificate(c.alias);
  CommandResult result;
  if (!cert) {
    p.add("no certificate with alias " + c.alias + " (import it with `cert import`)");
  } else if (!cert->cert.local) {
    p.add("certificate " + c.alias + " is a partner certificate; a listener needs a local one with its key");
  } else {
    for (const Finding& f : check_role_fit(info_of(cert->cert), Role::kLocalSslServer)) {
      if (f.error) p.add(f.message);
      else result.warnings.push_back(f.message);
    }
    for (const Finding& f : check_validity(info_of(cert->cert), ctx.now_ns, true)) p.add(f.message);
  }
  check_text(p, "the listener directory", c.dir);
  check_text(p, "the reload command", c.reload_command);
  if (valid_text(c.dir) && (c.dir.empty() || c.dir[0] != '/')) {
    p.add("listener directory '" + c.dir + "' must be an absolute path");
  }
  const ListenerRecord* l = state_.listener(c.listener);
  if (l && l->pending && cert && (!l->current || l->current->fingerprint != cert->cert.fingerprint)) {
    p.conflict(std::string("listener ") + to_string(c.listener) + " has a pending change to " +
               l->pending->alias + " (proposal " + l->pending_proposal +
               "); its certificate cannot be changed until that installs, or is declined or cancelled");
  }
  if (!p.empty()) return p.status();
  if (installer) {
    auto request = install_request(c.listener, *cert, c.dir, c.reload_command);
    if (!request.ok()) return request.status();
    Status installed = installer->install(request.value());
    if (!installed.ok()) {
      return Status::InvalidArgument(std::string("listener ") + to_string(c.listener) + ": installing " + c.alias +
                                     " failed, nothing was changed: " + installed.message());
    }
  }
  AppendBuilder b;
  b.add(listener_stream(c.listener), l ? ExpectedVersion::Exactly(l->version) : ExpectedVersion::NoStream(),
        ListenerConfigured{static_cast<uint8_t>(c.listener), c.alias, cert->cert.fingerprint, c.dir, c.reload_command});
  return commit(b.build(ctx, ""), std::move(result));
}

Status Engine::verify_password(const std::string& alias, const std::string& password) {
  const CertificateRecord* cert = state_.certificate(alias);
  auto vault = KeyVault::open(store_dir_);
  if (!vault.ok()) return vault.status();
  auto sealed = vault->get(cert->cert.fingerprint);
  if (!sealed.ok()) return sealed.status();
  return verify_key_password(sealed->password_protected.reveal(), password, info_of(cert->cert), alias);
}

Result<CommandResult> Engine::propose(const ProposeCommand& c, const CommandContext& ctx) {
  CERTSCHED_BEGIN_COMMAND(ctx, request_digest(c));
  Problems p;
  CommandResult result;
  if (!state_.initialized()) return Status::InvalidArgument("the store is not initialised: run `certsched init` first");

  // Partners, each once.
  std::vector<const PartnerRecord*> partners;
  std::set<std::string> seen_partners;
  if (c.partners.empty()) p.add("name at least one partner");
  for (const auto& id : c.partners) {
    if (!seen_partners.insert(id).second) continue;
    const PartnerRecord* partner = state_.partner(id);
    if (!partner) p.not_found("no partner " + id);
    else partners.push_back(partner);
  }

  // Roles, with the signing certificate also used for encryption when asked.
  std::map<Role, std::string> roles;
  for (const auto& [role, alias] : c.roles) {
    if (!roles.emplace(role, alias).second) p.add(std::string("role ") + to_string(role) + " is given twice");
  }
  if (c.use_signing_for_encryption) {
    bool any_signing = false;
    for (Role signing : {Role::kLocalSigning, Role::kPartnerSigning}) {
      auto it = roles.find(signing);
      if (it == roles.end()) continue;
      any_signing = true;
      auto [enc, inserted] = roles.emplace(encryption_role_for(signing), it->second);
      if (!inserted && enc->second != it->second) {
        p.add(std::string("--use-signing-for-encryption, but ") + to_string(enc->first) +
              " names another certificate (" + enc->second + ")");
      }
    }
    if (!any_signing) p.add("--use-signing-for-encryption needs a signing role");
  }
  if (roles.empty()) p.add("name at least one role and certificate (--role ROLE=ALIAS)");

  // When.
  const int64_t activate_at = c.activate_at_ns.value_or(ctx.now_ns);
  if (c.activate_at_ns && *c.activate_at_ns < ctx.now_ns) {
    p.add("activation time " + format_instant(*c.activate_at_ns) + " is in the past (now is " +
          format_instant(ctx.now_ns) + "); give a future instant or now");
  }
  if (c.email_partners && (!state_.system() || state_.system()->smtp_url.empty())) {
    p.add("--email-partners, but no SMTP server is configured (certsched init --smtp URL)");
  }

  // The certificates: kind, validity, usage, and the operator's key password.
  std::set<std::string> passwords_checked;
  for (const auto& [role, alias] : roles) {
    const CertificateRecord* cert = state_.certificate(alias);
    if (!cert) {
      p.not_found("no certificate with alias " + alias + " (import it with `cert import`)");
      continue;
    }
    if ((cert->cert.local != 0) != is_local(role)) {
      p.add("certificate " + alias + " is a " + (cert->cert.local ? "local" : "partner") +
            " certificate and cannot serve as " + to_string(role));
      continue;
    }
    const CertificateInfo info = info_of(cert->cert);
    for (const Finding& f : check_validity(info, ctx.now_ns, false)) {
      if (f.error) p.add(f.message);
    }
    if (activate_at > ctx.now_ns || info.not_before_ns > ctx.now_ns) {
      for (const Finding& f : check_validity(info, activate_at, true)) p.add(f.message + " (at the activation time)");
    }
    for (const Finding& f : check_role_fit(info, role)) {
      if (f.error) p.add(f.message);
      else result.warnings.push_back(f.message);
    }
    if (cert->cert.local && passwords_checked.insert(alias).second) {
      Status st = verify_password(alias, c.password);
      if (!st.ok()) p.add(st.message());
    }
  }

  struct Planned {
    const PartnerRecord* partner;
    Role role;
    const CertificateRecord* cert;
    bool forced;
  };
  std::vector<Planned> planned;
  std::map<Listener, const CertificateRecord*> listener_changes;
  for (const PartnerRecord* partner : partners) {
    for (const auto& [role, alias] : roles) {
      const CertificateRecord* cert = state_.certificate(alias);
      if (!cert || (cert->cert.local != 0) != is_local(role)) continue;
      const size_t ri = static_cast<size_t>(role);
      bool forced = false;
      if (role == Role::kLocalSslClient && !partner->current[ri]) {
        if (!c.force_ssl_client) {
          result.notes.push_back("partner " + partner->id + " has no SSL client certificate: " + alias +
                                 " not scheduled for it (--force-ssl-client schedules it anyway)");
          continue;
        }
        forced = true;
      }
      if (role == Role::kLocalSslServer) {
        const Listener lid = listener_for(partner->protocol);
        const ListenerRecord* l = state_.listener(lid);
        if (!l || !l->current) {
          p.add(std::string("partner ") + partner->id + " uses listener " + to_string(lid) +
                ", which is not configured: run `certsched listener configure " + to_string(lid) + "` first");
          continue;
        }
        if (!partner->current[ri]) {
          if (!c.force_ssl_server) {
            result.notes.push_back("partner " + partner->id + " does not use listener " + to_string(lid) +
                                   " over SSL: " + alias + " not scheduled for it (--force-ssl-server schedules it anyway)");
            continue;
          }
          forced = true;
        }
        // One server certificate per listener: every listener holding the same certificate
        // must move to the same new one.
        for (uint8_t li = 0; li < kListenerCount; ++li) {
          const ListenerRecord* other = state_.listener(static_cast<Listener>(li));
          if (!other || !other->pending) continue;
          const bool shares = other->listener == lid ||
                              (other->current && other->current->fingerprint == l->current->fingerprint);
          if (shares && other->pending->fingerprint != cert->cert.fingerprint) {
            p.conflict(std::string("listener ") + to_string(other->listener) +
                       " already has a new server certificate scheduled (" + other->pending->alias +
                       ", proposal " + other->pending_proposal + "); every server certificate proposal for partners "
                       "using it must name " + other->pending->alias + ", or decline or cancel that proposal first");
          }
        }
        if (!l->pending) listener_changes[lid] = cert;
      }
      if (const ScheduleRecord* open = state_.open_schedule(partner->id, role)) {
        p.conflict("partner " + partner->id + " already has an open " + to_string(role) + " schedule " +
                   open->proposed.schedule_id + " (proposal " + open->proposed.proposal_id + ", " +
                   statemachines::to_string(open->state()) + "): decline or cancel it first");
        continue;
      }
      if (partner->current[ri] && partner->current[ri]->fingerprint == cert->cert.fingerprint) {
        p.conflict("certificate " + alias + " is already current for partner " + partner->id + " as " + to_string(role));
        continue;
      }
      planned.push_back({partner, role, cert, forced});
    }
  }
  if (p.empty() && planned.empty()) {
    std::string why;
    for (const auto& n : result.notes) why += "; " + n;
    p.add("nothing to schedule" + why);
  }
  if (!p.empty()) return p.status();

  const std::string proposal_id = "P" + std::to_string(state_.proposal_count() + 1);
  size_t next_schedule = state_.schedule_ids().size() + 1;
  AppendBuilder b;
  for (const Planned& plan : planned) {
    ScheduleProposed e;
    e.schedule_id = "S" + std::to_string(next_schedule++);
    e.proposal_id = proposal_id;
    e.partner = plan.partner->id;
    e.role = static_cast<uint8_t>(plan.role);
    e.alias = plan.cert->cert.alias;
    e.fingerprint = plan.cert->cert.fingerprint;
    e.activate_at_ns = activate_at;
    e.email_partner = c.email_partners ? 1 : 0;
    e.first_usage = first_usage_applies(plan.partner->protocol, plan.partner->cem, plan.role) ? 1 : 0;
    e.forced = plan.forced ? 1 : 0;
    b.add(schedule_stream(e.schedule_id), ExpectedVersion::NoStream(), e);
    result.schedule_ids.push_back(e.schedule_id);
  }
  for (const auto& [lid, cert] : listener_changes) {
    b.add(listener_stream(lid), ExpectedVersion::Exactly(state_.listener(lid)->version),
          ListenerChangeProposed{cert->cert.alias, cert->cert.fingerprint, proposal_id});
  }
  result.proposal_id = proposal_id;
  return commit(b.build(ctx, proposal_id), std::move(result));
}

std::vector<std::string> Engine::withdrawn_listener_changes(const std::vector<std::string>& closing) const {
  // Listeners whose pending certificate no open schedule names once `closing` are closed.
  std::vector<std::string> out;
  for (uint8_t li = 0; li < kListenerCount; ++li) {
    const Listener lid = static_cast<Listener>(li);
    const ListenerRecord* l = state_.listener(lid);
    if (!l || !l->pending) continue;
    bool still_named = false;
    for (const auto& [id, partner] : state_.partners()) {
      if (listener_for(partner.protocol) != lid) continue;
      const ScheduleRecord* s = state_.open_schedule(id, Role::kLocalSslServer);
      if (s && s->proposed.fingerprint == l->pending->fingerprint &&
          std::find(closing.begin(), closing.end(), s->proposed.schedule_id) == closing.end()) {
        still_named = true;
      }
    }
    if (!still_named) out.push_back(to_string(lid));
  }
  return out;
}

Result<CommandResult> Engine::confirm(const std::string& proposal_id, const CommandContext& ctx) {
  CERTSCHED_BEGIN_COMMAND(ctx, request_digest({"schedule confirm", proposal_id}));
  const auto schedules = state_.schedules_of_proposal(proposal_id);
  if (schedules.empty()) return Status::NotFound("no proposal " + proposal_id);
  Problems p;
  for (const ScheduleRecord* s : schedules) {
    if (!s->machine.accepts(ScheduleTrigger::kConfirm)) {
      p.conflict("proposal " + proposal_id + " cannot be confirmed: schedule " + s->proposed.schedule_id +
                 " is " + statemachines::to_string(s->state()) + " (only a proposed proposal can be confirmed)");
      break;
    }
    const CertificateRecord* cert = state_.certificate(s->proposed.alias);
    for (const Finding& f : check_validity(info_of(cert->cert), std::max(ctx.now_ns, s->proposed.activate_at_ns), true)) {
      p.add(f.message + "; decline proposal " + proposal_id + " and propose another certificate");
    }
  }
  if (!p.empty()) return p.status();
  AppendBuilder b;
  CommandResult result;
  result.proposal_id = proposal_id;
  for (const ScheduleRecord* s : schedules) {
    const std::string stream = schedule_stream(s->proposed.schedule_id);
    b.add(stream, ExpectedVersion::Exactly(s->version), ScheduleConfirmed{});
    if (!s->proposed.email_partner) b.add(stream, ExpectedVersion::Exactly(s->version), ScheduleQueued{});
    result.schedule_ids.push_back(s->proposed.schedule_id);
  }
  return commit(b.build(ctx, proposal_id), std::move(result));
}

Result<CommandResult> Engine::decline(const std::string& proposal_id, const CommandContext& ctx) {
  CERTSCHED_BEGIN_COMMAND(ctx, request_digest({"schedule decline", proposal_id}));
  const auto schedules = state_.schedules_of_proposal(proposal_id);
  if (schedules.empty()) return Status::NotFound("no proposal " + proposal_id);
  std::vector<std::string> closing;
  for (const ScheduleRecord* s : schedules) {
    if (!s->machine.accepts(ScheduleTrigger::kDecline)) {
      return Status::Conflict("proposal " + proposal_id + " cannot be declined: schedule " +
                              s->proposed.schedule_id + " is " + statemachines::to_string(s->state()) +
                              (s->state() == ScheduleState::kWithdrawn ? "" : " (cancel a confirmed schedule instead)"));
    }
    closing.push_back(s->proposed.schedule_id);
  }
  AppendBuilder b;
  CommandResult result;
  result.proposal_id = proposal_id;
  for (const ScheduleRecord* s : schedules) {
    b.add(schedule_stream(s->proposed.schedule_id), ExpectedVersion::Exactly(s->version), ScheduleDeclined{});
  }
  result.schedule_ids = closing;
  for (const auto& name : withdrawn_listener_changes(closing)) {
    const ListenerRecord* l = state_.listener(*parse_listener(name));
    b.add(listener_stream(l->listener), ExpectedVersion::Exactly(l->version), ListenerChangeWithdrawn{l->pending->fingerprint});
  }
  return commit(b.build(ctx, proposal_id), std::move(result));
}

Result<CommandResult> Engine::cancel(const std::string& schedule_id, const std::string& reason, const CommandContext& ctx) {
  CERTSCHED_BEGIN_COMMAND(ctx, request_digest({"schedule cancel", schedule_id, reason}));
  const ScheduleRecord* s = state_.schedule(schedule_id);
  if (!s) return Status::NotFound("no schedule " + schedule_id);
  const std::string why = trimmed(reason);
  if (why.empty()) return Status::InvalidArgument("cancelling needs a reason (--reason TEXT)");
  if (!valid_text(why)) return Status::InvalidArgument("the reason must be UTF-8 text without control characters");
  if (why.size() > 1000) return Status::InvalidArgument("the reason is longer than 1000 characters");
  if (s->state() == ScheduleState::kProposed) {
    return Status::Conflict("schedule " + schedule_id + " awaits confirmation: decline proposal " +
                            s->proposed.proposal_id + " instead");
  }
  if (!s->machine.accepts(ScheduleTrigger::kCancel)) {
    return Status::Conflict("schedule " + schedule_id + " is " + statemachines::to_string(s->state()) +
                            "; only confirmed, emailed or pending schedules can be cancelled");
  }
  AppendBuilder b;
  b.add(schedule_stream(schedule_id), ExpectedVersion::Exactly(s->version), ScheduleCancelled{why});
  for (const auto& name : withdrawn_listener_changes({schedule_id})) {
    const ListenerRecord* l = state_.listener(*parse_listener(name));
    b.add(listener_stream(l->listener), ExpectedVersion::Exactly(l->version), ListenerChangeWithdrawn{l->pending->fingerprint});
  }
  CommandResult result;
  result.proposal_id = s->proposed.proposal_id;
  result.schedule_ids = {schedule_id};
  return commit(b.build(ctx, s->proposed.proposal_id), std::move(result));
}

Result<CommandResult> Engine::skip_email(const std::string& schedule_id, const std::string& reason, const CommandContext& ctx) {
  CERTSCHED_BEGIN_COMMAND(ctx, request_digest({"schedule skip-email", schedule_id, reason}));
  const ScheduleRecord* s = state_.schedule(schedule_id);
  if (!s) return Status::NotFound("no schedule " + schedule_id);
  const std::string why = trimmed(reason);
  if (why.empty()) return Status::InvalidArgument("skipping the partner email needs a reason (--reason TEXT)");
  if (!valid_text(why)) return Status::InvalidArgument("the reason must be UTF-8 text without control characters");
  if (!s->machine.accepts(ScheduleTrigger::kSkipEmail)) {
    return Status::Conflict("schedule " + schedule_id + " is " + statemachines::to_string(s->state()) +
                            (s->proposed.email_partner ? "" : " and no partner email was asked for") +
                            "; only a confirmed schedule still waiting for its partner email can skip it");
  }
  AppendBuilder b;
  b.add(schedule_stream(schedule_id), ExpectedVersion::Exactly(s->version), EmailSkipped{why});
  CommandResult result;
  result.proposal_id = s->proposed.proposal_id;
  result.schedule_ids = {schedule_id};
  return commit(b.build(ctx, s->proposed.proposal_id), std::move(result));
}

Result<CommandResult> Engine::record_mail_sent(const std::string& schedule_id, const std::string& message_id,
                                               const CommandContext& ctx) {
  CERTSCHED_BEGIN_COMMAND(ctx, "");
  const ScheduleRecord* s = state_.schedule(schedule_id);
  if (!s) return Status::NotFound("no schedule " + schedule_id);
  if (!s->machine.accepts(ScheduleTrigger::kMailSent)) {
    return Status::Conflict("schedule " + schedule_id + " is " + statemachines::to_string(s->state()) +
                            "; it is not waiting for a partner email");
  }
  AppendBuilder b;
  const std::string stream = schedule_stream(schedule_id);
  b.add(stream, ExpectedVersion::Exactly(s->version), PartnerMailSent{message_id});
  b.add(stream, ExpectedVersion::Exactly(s->version), ScheduleQueued{});
  CommandResult result;
  result.proposal_id = s->proposed.proposal_id;
  result.schedule_ids = {schedule_id};
  return commit(b.build(ctx, s->proposed.proposal_id), std::move(result));
}

Result<CommandResult> Engine::record_mail_failed(const std::string& schedule_id, const std::string& error,
                                                 const CommandContext& ctx) {
  CERTSCHED_BEGIN_COMMAND(ctx, "");
  const ScheduleRecord* s = state_.schedule(schedule_id);
  if (!s) return Status::NotFound("no schedule " + schedule_id);
  if (!s->machine.accepts(ScheduleTrigger::kMailFailed)) {
    return Status::Conflict("schedule " + schedule_id + " is " + statemachines::to_string(s->state()) +
                            "; it is not waiting for a partner email");
  }
  AppendBuilder b;
  b.add(schedule_stream(schedule_id), ExpectedVersion::Exactly(s->version),
        PartnerMailFailed{error.substr(0, 1000), s->mail_attempts + 1});
  CommandResult result;
  result.proposal_id = s->proposed.proposal_id;
  result.schedule_ids = {schedule_id};
  return commit(b.build(ctx, s->proposed.proposal_id), std::move(result));
}

Result<CommandResult> Engine::record_notification_delivered(const std::string& id, const std::string& message_id,
                                                            const CommandContext& ctx) {
  CERTSCHED_BEGIN_COMMAND(ctx, "");
  const DeliveryRecord* d = state_.delivery(id);
  if (d && d->delivered) return Status::Conflict("notification " + id + " was already delivered");
  AppendBuilder b;
  b.add(kNotificationStream, ExpectedVersion::Any(), NotificationDelivered{id, message_id});
  return commit(b.build(ctx, ""), {});
}

Result<CommandResult> Engine::record_notification_failed(const std::string& id, const std::string& error,
                                                         const CommandContext& ctx) {
  CERTSCHED_BEGIN_COMMAND(ctx, "");
  const DeliveryRecord* d = state_.delivery(id);
  if (d && d->delivered) return Status::Conflict("notification " + id + " was already delivered");
  AppendBuilder b;
  b.add(kNotificationStream, ExpectedVersion::Any(),
        NotificationFailed{id, error.substr(0, 1000), d ? d->attempts + 1 : 1});
  return commit(b.build(ctx, ""), {});
}

namespace {

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

}  // namespace

Result<CommandResult> Engine::activate_due(const CommandContext& ctx) {
  CERTSCHED_BEGIN_COMMAND(ctx, "");
  AppendBuilder b;
  CommandResult result;
  for (const auto& id : state_.schedule_ids()) {
    const ScheduleRecord* s = state_.schedule(id);
    if (s->state() != ScheduleState::kPending || s->role() == Role::kLocalSslServer) continue;
    if (s->proposed.activate_at_ns > ctx.now_ns) continue;
    add_activation(b, state_, *s, ActivationCause::kScheduledTime);
    result.schedule_ids.push_back(id);
  }
  if (b.empty()) return result;
  return commit(b.build(ctx, ""), std::move(result));
}

Result<CommandResult> Engine::observe_first_usage(const std::string& partner_id,
                                                  const std::vector<std::string>& fingerprints,
                                                  const CommandContext& ctx) {
  std::string used_fingerprints;
  for (const auto& fp : fingerprints) used_fingerprints.append(fp).append(",");
  CERTSCHED_BEGIN_COMMAND(ctx, request_digest({"observe", partner_id, used_fingerprints}));
  const PartnerRecord* partner = state_.partner(partner_id);
  if (!partner) return Status::NotFound("no partner " + partner_id);
  auto used = [&](const std::string& fp) {
    return std::find(fingerprints.begin(), fingerprints.end(), fp) != fingerprints.end();
  };
  AppendBuilder b;
  CommandResult result;
  for (Role role : {Role::kLocalEncryption, Role::kPartnerSigning}) {
    const ScheduleRecord* s = state_.open_schedule(partner_id, role);
    if (!s || !used(s->proposed.fingerprint)) continue;
    if (!s->proposed.first_usage) {
      result.notes.push_back("the message uses " + s->proposed.alias + " of schedule " + s->proposed.schedule_id +
                             ", but first usage does not apply to partner " + partner_id +
                             " (only non-CEM AS2/AS3 partners)");
      continue;
    }
    if (!s->machine.accepts(ScheduleTrigger::kFirstUsage)) {
      result.notes.push_back("schedule " + s->proposed.schedule_id + " is " +
                             statemachines::to_string(s->state()) + ": first usage activates only a confirmed schedule");
      continue;
    }
    add_activation(b, state_, *s, ActivationCause::kFirstUsage);
    result.schedule_ids.push_back(s->proposed.schedule_id);
  }
  if (b.empty()) {
    bool uses_current = false;
    for (const auto& cur : partner->current) uses_current = uses_current || (cur && used(cur->fingerprint));
    if (!uses_current && result.notes.empty()) {
      return Status::InvalidArgument("the message uses no certificate that partner " + partner_id +
                                     " has current or scheduled");
    }
    if (uses_current) result.notes.push_back("the message uses partner " + partner_id + "'s current certificates");
    return result;
  }
  return commit(b.build(ctx, ""), std::move(result));
}

ListenerReadiness Engine::readiness_locked(Listener lid, int64_t now_ns) const {
  ListenerReadiness r;
  r.listener = lid;
  const ListenerRecord* l = state_.listener(lid);
  if (!l || !l->pending) return r;
  r.pending = l->pending;
  r.pending_proposal = l->pending_proposal;
  for (const auto& [id, partner] : state_.partners()) {
    if (listener_for(partner.protocol) != lid) continue;
    const ScheduleRecord* s = state_.open_schedule(id, Role::kLocalSslServer);
    const bool uses = partner.current[static_cast<size_t>(Role::kLocalSslServer)].has_value();
    if (!uses && !s) continue;  // not a user of the listener, and not forced onto it
    if (!s || s->proposed.fingerprint != l->pending->fingerprint) {
      r.blockers.push_back({id, s ? s->proposed.schedule_id : "", "has no schedule for " + l->pending->alias});
      continue;
    }
    switch (s->state()) {
      case ScheduleState::kProposed:
        r.blockers.push_back({id, s->proposed.schedule_id, "awaits confirmation of proposal " + s->proposed.proposal_id});
        continue;
      case ScheduleState::kConfirmed:
        if (s->proposed.email_partner) {
          r.blockers.push_back({id, s->proposed.schedule_id, "waits for its partner email to be accepted"});
          continue;
        }
        break;
      case ScheduleState::kEmailed:
        break;
      default:
        break;
    }
    if (s->state() != ScheduleState::kPending) {
      r.blockers.push_back({id, s->proposed.schedule_id, std::string("is ") + statemachines::to_string(s->state())});
      continue;
    }
    if (s->proposed.activate_at_ns > now_ns) {
      r.blockers.push_back({id, s->proposed.schedule_id, "activates at " + format_instant(s->proposed.activate_at_ns)});
      continue;
    }
    r.schedule_ids.push_back(s->proposed.schedule_id);
  }
  r.ready = r.blockers.empty() && !r.schedule_ids.empty();
  return r;
}

Result<ListenerInstall> Engine::install_request(Listener lid, const CertificateRecord& cert, const std::string& dir,
                                                const std::string& reload_command) {
  auto vault = KeyVault::open(store_dir_);
  if (!vault.ok()) return vault.status();
  auto sealed = vault->get(cert.cert.fingerprint);
  if (!sealed.ok()) return sealed.status();
  auto key_pem = private_key_pem(sealed->pkcs8);
  if (!key_pem.ok()) return key_pem.status();
  ListenerInstall request;
  request.listener = lid;
  request.dir = dir;
  request.reload_command = reload_command;
  request.alias = cert.cert.alias;
  request.fingerprint = cert.cert.fingerprint;
  request.cert_pem = certificate_pem(cert.cert.der);
  for (const auto& der : cert.cert.chain_der) request.cert_pem += certificate_pem(der);
  request.key_pem = std::move(key_pem).value();
  return request;
}

Result<ListenerReadiness> Engine::listener_readiness(Listener l, int64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  CERTSCHED_RETURN_IF_ERROR(catch_up());
  if (!state_.listener(l)) return Status::NotFound(std::string("listener ") + to_string(l) + " is not configured");
  return readiness_locked(l, now_ns);
}

Result<CommandResult> Engine::install_listener(Listener lid, ListenerInstaller& installer, const CommandContext& ctx) {
  CERTSCHED_BEGIN_COMMAND(ctx, "");
  const ListenerRecord* l = state_.listener(lid);
  if (!l) return Status::NotFound(std::string("listener ") + to_string(lid) + " is not configured");
  const ListenerReadiness ready = readiness_locked(lid, ctx.now_ns);
  if (!l->pending) return Status::Conflict(std::string("listener ") + to_string(lid) + " has no pending server certificate");
  if (!ready.ready) {
    std::string why;
    for (const Blocker& b : ready.blockers) why += (why.empty() ? "" : "; ") + ("partner " + b.partner + " " + b.reason);
    return Status::Conflict(std::string("listener ") + to_string(lid) + " cannot install " + l->pending->alias +
                            " yet: " + (why.empty() ? "no partner has a schedule for it" : why));
  }
  const CertificateRecord* cert = state_.certificate(l->pending->alias);
  auto prepared = install_request(lid, *cert, l->dir, l->reload_command);
  if (!prepared.ok()) return prepared.status();
  const ListenerInstall& request = prepared.value();

  AppendBuilder b;
  CommandResult result;
  const Status installed = installer.install(request);
  if (!installed.ok()) {
    b.add(listener_stream(lid), ExpectedVersion::Exactly(l->version),
          ListenerInstallFailed{cert->cert.fingerprint, installed.message().substr(0, 1000), l->install_failures + 1});
    auto recorded = commit(b.build(ctx, l->pending_proposal), {});
    if (!recorded.ok()) return recorded.status();
    return Status::IOError(std::string("installing ") + cert->cert.alias + " on listener " + to_string(lid) +
                           " failed: " + installed.message());
  }
  b.add(listener_stream(lid), ExpectedVersion::Exactly(l->version),
        ListenerCertificateInstalled{cert->cert.alias, cert->cert.fingerprint, l->current ? l->current->fingerprint : ""});
  for (const auto& id : ready.schedule_ids) {
    add_activation(b, state_, *state_.schedule(id), ActivationCause::kListenerInstall);
    result.schedule_ids.push_back(id);
  }
  result.proposal_id = l->pending_proposal;
  return commit(b.build(ctx, l->pending_proposal), std::move(result));
}

}  // namespace certsched::domain
