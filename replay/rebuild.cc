#include "replay/rebuild.h"

#include <stdlib.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "domain/event_codec.h"
#include "domain/state.h"
#include "projections/notification_outbox.h"
#include "projections/projection_store.h"

namespace certsched::replay {
namespace {

// Splits a ProjectionStore::dump() into its sections, by projection name.
std::map<std::string, std::vector<std::string>> sections(const std::string& dump) {
  std::map<std::string, std::vector<std::string>> out;
  std::string current;
  std::istringstream in(dump);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("== ", 0) == 0) {
      current = line.substr(3, line.find(' ', 3) - 3);
      out[current];
    } else {
      out[current].push_back(line);
    }
  }
  return out;
}

std::string first_difference(const std::vector<std::string>& live, const std::vector<std::string>& rebuilt) {
  for (size_t i = 0; i < std::max(live.size(), rebuilt.size()); ++i) {
    const std::string a = i < live.size() ? live[i] : "(nothing)";
    const std::string b = i < rebuilt.size() ? rebuilt[i] : "(nothing)";
    if (a != b) return "live: " + a.substr(0, 200) + " | rebuilt: " + b.substr(0, 200);
  }
  return "";
}

}  // namespace

bool RebuildReport::deterministic() const {
  for (const auto& p : projections) {
    if (!p.equal) return false;
  }
  return true;
}

Result<RebuildReport> rebuild_and_compare(eventstore::EventStore& store, const std::string& store_dir,
                                          const Progress& progress, bool verify) {
  RebuildReport report;
  CERTSCHED_ASSIGN_OR_RETURN(auto head, store.head());

  // The live projections, read-only (they may belong to a running serve).
  std::string live_dump;
  uint64_t target = head.position;
  auto live = projections::ProjectionStore::open(store_dir, true);
  if (live.ok()) {
    report.live_found = true;
    CERTSCHED_ASSIGN_OR_RETURN(auto cp, (*live)->checkpoint(projections::kProjections.front()));
    report.live_position = target = cp;
    CERTSCHED_ASSIGN_OR_RETURN(auto dump, (*live)->dump());
    live_dump = dump;
  } else if (!live.status().IsNotFound()) {
    return live.status();
  }

  std::string scratch = (std::filesystem::temp_directory_path() / "certsched-rebuild-XXXXXX").string();
  if (mkdtemp(scratch.data()) == nullptr) return Status::IOError("cannot create a scratch directory for the rebuild");
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{scratch};

  std::string rebuilt_dump;
  {
    domain::DomainState state;
    projections::NotificationOutbox outbox;
    CERTSCHED_ASSIGN_OR_RETURN(auto rebuilt, projections::ProjectionStore::open(scratch, false, &outbox));
    auto feed = [&](const eventstore::RecordedEvent& r) -> Status {
      if (r.position > target) return Status::Ok();  // appended after the live checkpoint
      CERTSCHED_ASSIGN_OR_RETURN(auto event, domain::decode_event(r));
      CERTSCHED_RETURN_IF_ERROR(state.apply(r, event));
      CERTSCHED_RETURN_IF_ERROR(outbox.on_event(r, event, state));
      CERTSCHED_RETURN_IF_ERROR(rebuilt->on_event(r, event, state));
      if (++report.events % 4096 == 0 && progress) progress(report.events, target);
      return Status::Ok();
    };
    if (verify) {
      CERTSCHED_ASSIGN_OR_RETURN(auto walk, store.verify(feed));
      report.verification = walk;
      if (!walk.verified) return report;  // a rebuild from a broken log means nothing
    } else {
      for (uint64_t next = 1; next <= target;) {
        auto batch = store.read_all(next, std::min<uint64_t>(4096, target - next + 1));
        if (!batch.ok()) return batch.status();
        if (batch->empty()) break;
        for (const auto& r : batch.value()) CERTSCHED_RETURN_IF_ERROR(feed(r));
        next = batch->back().position + 1;
      }
    }
    if (progress) progress(report.events, target);
    CERTSCHED_RETURN_IF_ERROR(rebuilt->on_caught_up());
    CERTSCHED_ASSIGN_OR_RETURN(auto dump, rebuilt->dump());
    rebuilt_dump = dump;
  }
  if (!report.live_found) return report;

  auto a = sections(live_dump), b = sections(rebuilt_dump);
  for (const auto& name : projections::kProjections) {
    ProjectionComparison c{name, a[name] == b[name], ""};
    if (!c.equal) c.first_difference = first_difference(a[name], b[name]);
    report.projections.push_back(std::move(c));
  }
  return report;
}

}  // namespace certsched::replay
