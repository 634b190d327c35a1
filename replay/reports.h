// Compliance reports, as rows of named columns (the same names in the table, CSV and JSON):
//   inventory  - partner x role: current and pending certificate, fingerprints, expiry
//   expiring   - certificates in use expiring within N days with no confirmed replacement in time
//   history    - activations in a period: what replaced what, why, and who decided
//   blockers   - listener installs blocked by partners, and schedules past due
#pragma once

#include <string>
#include <vector>

#include "domain/state.h"

namespace certsched::replay {

struct ReportTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

struct ReportOptions {
  int64_t now_ns = 0;
  int within_days = 30;  // expiring
  int64_t from_ns = 0;   // history; 0: from the beginning
  int64_t to_ns = 0;     // history; 0: until now
};

// InvalidArgument for an unknown report name.
Result<ReportTable> build_report(const std::string& name, const domain::DomainState& state,
                                 const ReportOptions& options);

std::string format_csv(const ReportTable& t);
std::string format_table(const ReportTable& t);
std::string format_json(const ReportTable& t);

}  // namespace certsched::replay
