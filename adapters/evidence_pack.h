// The auditor's evidence pack (CLI.md "Evidence pack", docs/evidence-format.md): the whole
// log up to a checkpoint with the exact bytes its hash chain covers, the checkpoint signed
// with the store's evidence key, the public key, and a readable page. `verify_evidence`
// re-checks a pack with no store.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "base/status.h"
#include "eventstore/event_store.h"

namespace certsched::adapters {

struct EvidencePeriod {
  int64_t from_ns = 0;  // 0: from the first event
  int64_t to_ns = 0;    // 0: until now
};

struct EvidenceSummary {
  std::string out;
  uint64_t position = 0;
  std::string head_hash;
  std::string key_id;  // SHA-256 of the public key's DER
  size_t records = 0;
};

// Writes the pack into the new directory `out` (beside it first, renamed when whole).
Result<EvidenceSummary> export_evidence(eventstore::EventStore& store, const std::string& store_dir,
                                        const std::string& out, const EvidencePeriod& period, int64_t now_ns);

// Checks the pack in `out`: the checkpoint's signature (under `pinned_key_pem` if given,
// else the pack's own key, which then only proves the pack is unaltered since it was
// signed by that key), every record's frame and checksum, the chain from the first record
// to the signed head hash, positions and stream versions. Corruption naming the first bad
// position, or the file, on any alteration.
Result<EvidenceSummary> verify_evidence(const std::string& out, const std::string& pinned_key_pem);

nlohmann::json to_json(const EvidenceSummary& s);

}  // namespace certsched::adapters
