#include "adapters/evidence_pack.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "adapters/evidence_key.h"
#include "adapters/evidence_page.h"
#include "base/atomic_file.h"
#include "base/base64.h"
#include "base/openssl_util.h"
#include "domain/event_codec.h"
#include "domain/instant.h"
#include "domain/state.h"
#include "domain/streams.h"
#include "replay/audit_trail.h"

namespace certsched::adapters {
namespace {

namespace fs = std::filesystem;

constexpr const char* kGenesisHex = "0000000000000000000000000000000000000000000000000000000000000000";

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

bool is_hex64(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// chain(n) = SHA-256(chain(n-1) || framed), in hex.
std::string chain_next_hex(const std::string& previous_hex, const std::string& framed) {
  return base::sha256_hex(from_hex(previous_hex) + framed);
}

nlohmann::json event_line(const eventstore::RecordedEvent& e, const std::string& what) {
  return {{"position", e.position},       {"stream", e.stream},
          {"stream_version", e.stream_version}, {"type", e.type},
          {"schema_version", e.schema_version}, {"time", domain::format_instant(e.time_ns)},
          {"actor", e.actor},             {"command_id", e.command_id},
          {"correlation_id", e.correlation_id}, {"what", what}};
}

Status corrupt(const std::string& out, const std::string& what) {
  return Status::Corruption("evidence pack " + out + ": " + what);
}

}  // namespace

Result<EvidenceSummary> export_evidence(eventstore::EventStore& store, const std::string& store_dir,
                                        const std::string& out, const EvidencePeriod& period, int64_t now_ns) {
  std::error_code ec;
  if (fs::exists(out, ec)) return Status::InvalidArgument(out + " exists: an evidence pack goes into a new directory");
  CERTSCHED_RETURN_IF_ERROR(ensure_evidence_key(store_dir));
  CERTSCHED_ASSIGN_OR_RETURN(const std::string public_pem, evidence_public_key(store_dir));
  const std::string partial = out + ".partial-" + std::to_string(getpid());
  fs::create_directory(partial, ec);
  if (ec) return Status::IOError("cannot create " + partial + ": " + ec.message());
  struct Remove {
    std::string dir;
    bool keep = false;
    ~Remove() {
      std::error_code e;
      if (!keep) fs::remove_all(dir, e);
    }
  } cleanup{partial};

  // The log, record by record, checked as it is read; the state at the checkpoint beside it.
  EvidenceSummary s;
  domain::DomainState state;
  std::vector<InstallRecord> installs;
  std::string store_id;
  std::ofstream events(partial + "/events.jsonl", std::ios::binary);
  CERTSCHED_RETURN_IF_ERROR(store.for_each_record([&](const eventstore::StoredRecord& r) -> Status {
    nlohmann::json line = {{"position", r.events.front().position},
                           {"record_base64", base::base64_encode(r.framed)},
                           {"chain_hash", r.chain_hash_hex}};
    nlohmann::json decoded = nlohmann::json::array();
    for (const auto& e : r.events) {
      CERTSCHED_ASSIGN_OR_RETURN(auto event, domain::decode_event(e));
      if (const auto* installed = std::get_if<domain::ListenerCertificateInstalled>(&event)) {
        const auto name = domain::stream_id(e.stream, domain::StreamKind::kListener);
        const auto listener = name ? domain::parse_listener(*name) : std::nullopt;
        const domain::CertificateRecord* before = state.certificate_by_fingerprint(installed->previous_fingerprint);
        if (listener) {
          installs.push_back({*listener, installed->alias, before ? before->cert.alias : "", e.actor, e.time_ns, e.position});
        }
      }
      CERTSCHED_RETURN_IF_ERROR(state.apply(e, event));
      decoded.push_back(event_line(e, replay::describe_event(e, event, state)));
    }
    line["events"] = std::move(decoded);
    events << line.dump() << "\n";
    if (store_id.empty()) store_id = r.chain_hash_hex;
    s.position = r.events.back().position;
    s.head_hash = r.chain_hash_hex;
    ++s.records;
    return Status::Ok();
  }));
  events.close();
  if (!events) return Status::IOError("cannot write " + partial + "/events.jsonl");
  CERTSCHED_ASSIGN_OR_RETURN(auto events_text, base::read_file_if_exists(partial + "/events.jsonl"));

  const nlohmann::json checkpoint = {{"position", s.position},
                                     {"head_hash", s.head_hash.empty() ? kGenesisHex : s.head_hash},
                                     {"exported_at", domain::format_instant(now_ns)},
                                     {"store_id", store_id},
                                     {"events_sha256", base::sha256_hex(*events_text)},
                                     {"period", {{"from", period.from_ns ? domain::format_instant(period.from_ns) : ""},
                                                 {"to", domain::format_instant(period.to_ns ? period.to_ns : now_ns)}}}};
  const std::string checkpoint_text = checkpoint.dump(2) + "\n";
  CERTSCHED_ASSIGN_OR_RETURN(const std::string signature, evidence_sign(store_dir, checkpoint_text));
  CERTSCHED_RETURN_IF_ERROR(base::write_file_atomically(partial + "/checkpoint.json", checkpoint_text, 0644));
  CERTSCHED_RETURN_IF_ERROR(base::write_file_atomically(partial + "/checkpoint.sig", signature, 0644));
  CERTSCHED_RETURN_IF_ERROR(base::write_file_atomically(partial + "/evidence-key.pem", public_pem, 0644));
  CERTSCHED_ASSIGN_OR_RETURN(s.key_id, evidence_key_id(public_pem));
  const std::string page = evidence_page(state, {period.from_ns, period.to_ns ? period.to_ns : now_ns, now_ns},
                                         checkpoint, s.key_id, installs);
  CERTSCHED_RETURN_IF_ERROR(base::write_file_atomically(partial + "/index.html", page, 0644));
  fs::rename(partial, out, ec);
  if (ec) return Status::IOError("cannot move the pack into " + out + ": " + ec.message());
  cleanup.keep = true;
  s.out = fs::absolute(out).lexically_normal().string();
  return s;
}

Result<EvidenceSummary> verify_evidence(const std::string& out, const std::string& pinned_key_pem) {
  auto read = [&](const char* name) -> Result<std::string> {
    CERTSCHED_ASSIGN_OR_RETURN(auto text, base::read_file_if_exists(out + "/" + name));
    if (!text) return corrupt(out, std::string(name) + " is missing");
    return std::move(*text);
  };
  std::error_code ec;
  if (!fs::is_directory(out, ec)) return Status::NotFound("no evidence pack " + out);
  CERTSCHED_ASSIGN_OR_RETURN(const std::string checkpoint_text, read("checkpoint.json"));
  CERTSCHED_ASSIGN_OR_RETURN(const std::string signature, read("checkpoint.sig"));
  CERTSCHED_ASSIGN_OR_RETURN(const std::string pack_key, read("evidence-key.pem"));
  CERTSCHED_ASSIGN_OR_RETURN(const std::string events_text, read("events.jsonl"));
  const std::string& key = pinned_key_pem.empty() ? pack_key : pinned_key_pem;
  auto valid = evidence_signature_valid(key, checkpoint_text, signature);
  if (!valid.ok()) return corrupt(out, "evidence-key.pem: " + valid.status().message());
  if (!valid.value()) {
    return corrupt(out, pinned_key_pem.empty() ? "checkpoint.sig is not a signature of checkpoint.json by evidence-key.pem"
                                               : "checkpoint.sig is not a signature of checkpoint.json by the pinned key");
  }
  const nlohmann::json checkpoint = nlohmann::json::parse(checkpoint_text, nullptr, false);
  if (checkpoint.is_discarded() || !checkpoint.is_object() || !checkpoint.contains("position") ||
      !checkpoint["position"].is_number_unsigned() || !checkpoint.contains("head_hash") ||
      !checkpoint["head_hash"].is_string() || !is_hex64(checkpoint["head_hash"].get<std::string>())) {
    return corrupt(out, "checkpoint.json is malformed");
  }
  EvidenceSummary s;
  s.out = out;
  CERTSCHED_ASSIGN_OR_RETURN(s.key_id, evidence_key_id(key));
  std::string chain = kGenesisHex;
  uint64_t expected = 1;
  std::map<std::string, uint64_t> versions;
  std::istringstream lines(events_text);
  std::vector<eventstore::RecordedEvent> decoded;
  for (std::string text; std::getline(lines, text);) {
    const nlohmann::json line = nlohmann::json::parse(text, nullptr, false);
    const std::string at = "position " + std::to_string(expected);
    if (line.is_discarded() || !line.is_object() || !line.contains("record_base64") || !line["record_base64"].is_string()) {
      return corrupt(out, "events.jsonl: the line for " + at + " is malformed");
    }
    auto framed = base::base64_decode(line["record_base64"].get<std::string>());
    if (!framed.ok()) return corrupt(out, "events.jsonl: " + at + ": record_base64 is not base64");
    const Status frame = eventstore::decode_framed_record(framed.value(), expected, &decoded);
    if (!frame.ok()) return corrupt(out, "events.jsonl: " + frame.message());
    chain = chain_next_hex(chain, framed.value());
    if (line.value("chain_hash", "") != chain) {
      return corrupt(out, "events.jsonl: record at " + at + ": hash chain broken (record altered, removed or reordered)");
    }
    for (const auto& e : decoded) {
      uint64_t& v = versions[e.stream];
      if (e.stream_version != v + 1) {
        return corrupt(out, "events.jsonl: " + e.stream + " jumps from version " + std::to_string(v) + " to " +
                                std::to_string(e.stream_version) + " at position " + std::to_string(e.position));
      }
      v = e.stream_version;
    }
    expected = decoded.back().position + 1;
    ++s.records;
  }
  s.position = expected - 1;
  s.head_hash = chain;
  if (s.position != checkpoint["position"].get<uint64_t>()) {
    return corrupt(out, "events.jsonl ends at position " + std::to_string(s.position) + ", the checkpoint at " +
                            std::to_string(checkpoint["position"].get<uint64_t>()));
  }
  if (s.head_hash != checkpoint["head_hash"].get<std::string>()) {
    return corrupt(out, "the chain's last hash is not the checkpoint's head_hash");
  }
  // Last: the readable decodings beside the records are covered by the signature only.
  if (checkpoint.value("events_sha256", "") != base::sha256_hex(events_text)) {
    return corrupt(out, "events.jsonl was altered outside its records (it does not match the checkpoint's events_sha256)");
  }
  return s;
}

nlohmann::json to_json(const EvidenceSummary& s) {
  return {{"pack", s.out}, {"position", s.position}, {"head_hash", s.head_hash}, {"key_id", s.key_id}, {"records", s.records}};
}

}  // namespace certsched::adapters
