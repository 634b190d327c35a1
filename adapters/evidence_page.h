// The evidence pack's index.html: one self-contained page (no scripts, no network) an
// auditor reads or prints: the checkpoint and how to re-check it, a table of contents,
// per partner an SVG timeline of each role's certificates, the inventory, the period's
// activations and the blockers at the checkpoint.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "domain/state.h"

namespace certsched::adapters {

struct PagePeriod {
  int64_t from_ns = 0;
  int64_t to_ns = 0;
  int64_t now_ns = 0;
};

// A listener install, as the log recorded it (the state keeps only the current one).
struct InstallRecord {
  domain::Listener listener = domain::Listener::kHTTP;
  std::string alias, previous_alias, actor;
  int64_t at_ns = 0;
  uint64_t position = 0;
};

std::string evidence_page(const domain::DomainState& state, const PagePeriod& period, const nlohmann::json& checkpoint,
                          const std::string& key_id, const std::vector<InstallRecord>& installs);

}  // namespace certsched::adapters
