// certsched-bench: certsched's figures side by side with their raw baselines (RocksDB, libpq), measured in one run.
//   certsched-bench            the full run the targets are set for (several minutes)
//   certsched-bench --smoke    tiny sizes: proves the program runs; the figures mean nothing
//   certsched-bench --json     one JSON object instead of the table
//   certsched-bench --only N   just the figures whose name contains N
//   certsched-bench --log-events N   figures 5 and 6 on a log of N events (for profiling)
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <thread>

#include "benchmarks/figures.h"

namespace fs = std::filesystem;
using namespace certsched::bench;

namespace {

std::string machine() {
  std::string cpu = "unknown CPU";
  std::ifstream info("/proc/cpuinfo");
  for (std::string line; std::getline(info, line);) {
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  utsname u{};
  uname(&u);
  return std::to_string(std::thread::hardware_concurrency()) + " cores, " + cpu + ", Linux " + u.release;
}

int usage() {
  std::cerr << "usage: certsched-bench [--smoke] [--json] [--only NAME] [--dir DIR] [--log-events N]\n"
               "Example: certsched-bench --json > results.json\n";
  return 2;
}

}  // namespace

Scale Scale::smoke() {
  Scale s;
  s.append_rounds = 2;
  s.synced_appends = 50;
  s.synced_per_writer = 5;
  s.unsynced_appends = 500;
  s.batches = 10;
  s.log_events = 3000;
  s.log_partners = 100;
  s.proposal_partners = 50;
  s.serve_schedules = 10;
  s.serve_spread_s = 1;
  s.loaded_partners = 200;
  s.pg_replay_events = 400;
  s.failovers = 1;
  return s;
}

int main(int argc, char** argv) {
  bool json = false;
  std::string only, base = fs::temp_directory_path().string();
  Context c;
  c.scale = Scale::full();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--measure-memory" && i + 1 < argc) return measure_loaded_memory(argv[++i]);
    if (a == "--smoke") c.scale = Scale::smoke();
    else if (a == "--json") json = true;
    else if (a == "--only" && i + 1 < argc) only = argv[++i];
    else if (a == "--dir" && i + 1 < argc) base = argv[++i];
    else if (a == "--log-events" && i + 1 < argc) c.scale.log_events = std::stoul(argv[++i]);
    else return usage();
  }
  c.self_binary = fs::read_symlink("/proc/self/exe").string();
  c.certsched_binary = (fs::path(c.self_binary).parent_path().parent_path() / "adapters" / "certsched").string();
  if (!fs::exists(c.certsched_binary)) {
    std::cerr << "certsched-bench: the certsched binary is not at " << c.certsched_binary << "; build it first\n";
    return 1;
  }
  c.work_dir = base + "/certsched-bench-" + std::to_string(getpid());
  fs::create_directories(c.work_dir);

  // Each group runs its figures together; its key names them all, so that `--only` can
  // pick a group by any of its figures' names.
  const std::vector<std::pair<std::string, std::function<std::vector<Figure>()>>> groups = {
      {"durable_append_1_writer durable_append_16_writers unsynced_append_single unsynced_append_batch_100",
       [&] { return append_figures(c); }},
      {"replay_verify_apply projection_rebuild", [&] { return log_figures(c); }},
      {"propose_confirm_10000_partners propose_confirm_10000_partners_emailed",
       [&] { return std::vector<Figure>{proposal_figure(c, false), proposal_figure(c, true)}; }},
      {"serve_activation_p99", [&] { return std::vector<Figure>{serve_latency_figure(c)}; }},
      {"peak_rss_100000_partners", [&] { return std::vector<Figure>{memory_figure(c)}; }},
      {"pg_durable_append_1_writer pg_durable_append_16_writers pg_verified_replay_100000",
       [&] { return postgres_figures(c); }},
      {"pg_failover_seconds", [&] { return std::vector<Figure>{failover_figure(c)}; }},
  };
  bool any = only.empty();
  for (const auto& group : groups) any = any || group.first.find(only) != std::string::npos;
  if (!any) {
    std::cerr << "certsched-bench: no figure's name contains '" << only << "'; the figures:\n";
    for (const auto& group : groups) std::cerr << "  " << group.first << "\n";
    fs::remove_all(c.work_dir);
    return 2;
  }
  std::vector<Figure> figures;
  int exit_code = 0;
  for (const auto& [names, run] : groups) {
    if (names.find(only) == std::string::npos) continue;
    try {
      std::vector<Figure> ran = run();
      // Of a group's figures, those `--only` names; all of them when it names none by their
      // own names (a smoke run's names carry its smaller sizes).
      const bool by_name = std::any_of(ran.begin(), ran.end(),
                                       [&](const Figure& f) { return f.name.find(only) != std::string::npos; });
      for (Figure& f : ran) {
        if (!by_name || f.name.find(only) != std::string::npos) figures.push_back(std::move(f));
      }
    } catch (const std::exception& e) {
      std::cerr << "certsched-bench: " << names << ": " << e.what() << "\n";
      exit_code = 1;
    }
    if (!json) std::cerr << "certsched-bench: " << names << " done\n";
  }
  fs::remove_all(c.work_dir);
  if (json) print_json(figures);
  else print_table(figures, machine());
  return exit_code;
}
