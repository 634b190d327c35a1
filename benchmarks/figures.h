// The benchmark program's figures, grouped by what they exercise. Each runner measures
// certsched and, where the issue names one, its raw RocksDB baseline in the same call.
#pragma once

#include <string>
#include <vector>

#include "benchmarks/figure.h"

namespace certsched::bench {

// How big each figure's workload is. `full()` is what the targets are set for; `smoke()`
// only proves the program still runs (CI), and its figures mean nothing.
struct Scale {
  size_t payload_bytes = 256;     // each event's payload, and each raw value
  // Figures 1-4 alternate `append_rounds` rounds a side; the sizes below are each side's totals.
  int append_rounds = 20;
  size_t synced_appends = 4000;   // figure 1
  int writers = 16;               // figure 2
  size_t synced_per_writer = 1000;
  size_t unsynced_appends = 100000;  // figure 3
  size_t batches = 1000;             // figure 4, of 100 events each
  size_t log_events = 1000000;       // figures 5 and 6
  size_t log_partners = 50000;
  size_t proposal_partners = 10000;  // figure 7
  size_t serve_schedules = 1000;     // figure 8
  double serve_spread_s = 10;
  size_t loaded_partners = 100000;   // figure 9
  size_t pg_replay_events = 100000;  // figure 12
  int failovers = 5;                 // figure 13

  static Scale full() { return Scale(); }
  static Scale smoke();
};

struct Context {
  Scale scale;
  std::string work_dir;          // scratch space, removed at the end
  std::string certsched_binary;  // for `serve`
  std::string self_binary;       // this program, re-run for the memory figure
};

std::vector<Figure> append_figures(const Context& c);  // 1-4
std::vector<Figure> log_figures(const Context& c);     // 5-6
// 7; `email_partners`: the proposal mails each partner its new certificates, so 10,000
// partner mails are owed once it is confirmed.
Figure proposal_figure(const Context& c, bool email_partners);
Figure serve_latency_figure(const Context& c);         // 8
Figure memory_figure(const Context& c);                // 9
// 10-12: the clustered store on a PostgreSQL server started for the run, beside raw libpq.
std::vector<Figure> postgres_figures(const Context& c);
// 13: two serve nodes on PostgreSQL, the leader killed just before a schedule falls due.
Figure failover_figure(const Context& c);

// The child side of figure 9: loads the store at `store_dir` as `serve` does and prints its
// peak resident memory in bytes.
int measure_loaded_memory(const std::string& store_dir);

}  // namespace certsched::bench
