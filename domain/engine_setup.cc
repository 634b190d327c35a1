#include "domain/engine.h"

#include <set>

#include "domain/command_support.h"
#include "domain/instant.h"
#include "domain/key_vault.h"
#include "domain/request_digest.h"

namespace certsched::domain {

using eventstore::ExpectedVersion;
using statemachines::ScheduleState;
using statemachines::ScheduleTrigger;
using namespace internal;

Result<CommandResult> Engine::import_certificate(const ImportCertificateCommand& c, const CommandContext& ctx) {
  return serializable(ctx, request_digest(c), [&]() -> Result<CommandResult> {
    Problems p;
    if (!state_.initialized()) return Status::InvalidArgument("the store is not initialised");
    if (!valid_name(c.alias)) p.add("alias '" + c.alias + "' must be 1-64 letters, digits, '.', '_' or '-'");
    else if (state_.certificate(c.alias)) p.conflict("certificate alias " + c.alias + " already exists");
    else if (const CertificateRecord* gone = state_.removed_certificate(c.alias)) {
      p.conflict("certificate alias " + c.alias + " belonged to a certificate removed on " +
                 format_instant(gone->removed_at_ns) + "; the history keeps it, so choose another alias");
    }
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
      p.add("a local certificate needs its private key; a partner's certificate is imported as a partner "
            "certificate");
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
      CERTSCHED_ASSIGN_OR_RETURN(auto vault, key_vault());
      CERTSCHED_RETURN_IF_ERROR(vault.put(m.info.fingerprint, SealedKey{std::move(m.key_pkcs8), std::move(m.key_protected)}));
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
    return commit(b.build(ctx, ""), std::move(result));
  });
}

Result<CommandResult> Engine::add_partner(const AddPartnerCommand& c, const CommandContext& ctx) {
  return serializable(ctx, request_digest(c), [&]() -> Result<CommandResult> {
    Problems p;
    if (!state_.initialized()) return Status::InvalidArgument("the store is not initialised");
    if (!valid_name(c.id)) p.add("partner id '" + c.id + "' must be 1-64 letters, digits, '.', '_' or '-'");
    else if (state_.partner(c.id)) p.conflict("partner " + c.id + " already exists");
    else if (const PartnerRecord* gone = state_.removed_partner(c.id); gone && !c.reuse_id) {
      p.conflict("partner id " + c.id + " belonged to a partner removed on " + format_instant(gone->removed_at_ns) + " (" +
                 gone->removal_reason + "); a new partner takes it only by reusing the id on purpose");
    }
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
        p.add("no certificate with alias " + alias + " (import it first)");
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
    const PartnerRecord* previous = state_.removed_partner(c.id);
    b.add(partner_stream(c.id), previous ? ExpectedVersion::Exactly(previous->version) : ExpectedVersion::NoStream(), e);
    return commit(b.build(ctx, ""), std::move(result));
  });
}

Status Engine::check_listener_configure(const ConfigureListenerCommand& c, int64_t now_ns,
                                        std::vector<std::string>* warnings) const {
  Problems p;
  if (!state_.initialized()) return Status::InvalidArgument("the store is not initialised");
  const CertificateRecord* cert = state_.certificate(c.alias);
  if (!cert) {
    p.add("no certificate with alias " + c.alias + " (import it first)");
  } else if (!cert->cert.local) {
    p.add("certificate " + c.alias + " is a partner certificate; a listener needs a local one with its key");
  } else {
    for (const Finding& f : check_role_fit(info_of(cert->cert), Role::kLocalSslServer)) {
      if (f.error) p.add(f.message);
      else if (warnings) warnings->push_back(f.message);
    }
    for (const Finding& f : check_validity(info_of(cert->cert), now_ns, true)) p.add(f.message);
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
  return p.empty() ? Status::Ok() : p.status();
}

Result<ListenerInstall> Engine::prepare_listener_configure(const ConfigureListenerCommand& c, int64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  CERTSCHED_RETURN_IF_ERROR(catch_up());
  CERTSCHED_RETURN_IF_ERROR(check_listener_configure(c, now_ns, nullptr));
  return install_request(c.listener, *state_.certificate(c.alias), c.dir, c.reload_command);
}

Result<CommandResult> Engine::record_listener_configure(const ConfigureListenerCommand& c, const CommandContext& ctx) {
  return serializable(ctx, request_digest(c), [&]() -> Result<CommandResult> {
    CommandResult result;
    CERTSCHED_RETURN_IF_ERROR(check_listener_configure(c, ctx.now_ns, &result.warnings));
    const ListenerRecord* l = state_.listener(c.listener);
    const CertificateRecord* cert = state_.certificate(c.alias);
    AppendBuilder b;
    b.add(listener_stream(c.listener), l ? ExpectedVersion::Exactly(l->version) : ExpectedVersion::NoStream(),
          ListenerConfigured{static_cast<uint8_t>(c.listener), c.alias, cert->cert.fingerprint, c.dir, c.reload_command});
    return commit(b.build(ctx, ""), std::move(result));
  });
}

Result<CommandResult> Engine::configure_listener(const ConfigureListenerCommand& c, const CommandContext& ctx,
                                                 ListenerInstaller* installer) {
  if (installer) {
    CERTSCHED_ASSIGN_OR_RETURN(auto request, prepare_listener_configure(c, ctx.now_ns));
    const Status installed = installer->install(request);
    if (!installed.ok()) {
      return Status::InvalidArgument(std::string("listener ") + to_string(c.listener) + ": installing " + c.alias +
                                     " failed, nothing was changed: " + installed.message());
    }
  }
  return record_listener_configure(c, ctx);
}

}  // namespace certsched::domain
