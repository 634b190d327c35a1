// Figure 7 (one proposal for many partners, proposed and confirmed durably) and figure 9
// (resident memory with many partners and their certificates loaded).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "benchmarks/figures.h"
#include "base/clock.h"
#include "benchmarks/population.h"

namespace certsched::bench {

Figure proposal_figure(const Context& c, bool email_partners) {
  const std::string dir = c.work_dir + (email_partners ? "/proposal-emailed" : "/proposal");
  const size_t n = c.scale.proposal_partners;
  {
    CertMinter minter;
    Population setup(dir, false, true);
    // Mail is only owed with an SMTP server configured; nothing is sent during the figure.
    setup.seed(n, false, minter, email_partners ? "smtp://127.0.0.1:25" : "");
    setup.import_partner_cert("partner-b", minter);
  }
  Population pop(dir, true, true);  // durable, with every read model fed, as the CLI runs
  domain::ProposeCommand p;
  for (size_t i = 0; i < n; ++i) p.partners.push_back("p" + std::to_string(i));
  p.roles = {{domain::Role::kPartnerSigning, "partner-b"}};
  p.activate_at_ns = base::now_ns() + int64_t{3600} * 1'000'000'000;
  p.email_partners = email_partners;
  const uint64_t before = must(pop.store().head(), "head").position;
  Stopwatch clock;
  const auto proposed = must(pop.engine().propose(p, pop.ctx()), "propose");
  const double propose_s = clock.seconds();
  must(pop.engine().confirm(proposed.proposal_id, pop.ctx()), "confirm");
  const double seconds = clock.seconds();
  const uint64_t events = must(pop.store().head(), "head").position - before;

  Figure f;
  f.name = "propose_confirm_" + std::to_string(n) + "_partners" + (email_partners ? "_emailed" : "");
  f.what = "one proposal for " + std::to_string(n) + " partners, proposed then confirmed, durable, read models fed" +
           (email_partners ? ", each partner mailed its new certificates" : "");
  f.value = seconds;
  f.unit = "s";
  f.target_kind = Figure::Target::kValueAtMost;
  f.target = 1.0;
  char note[160];
  std::snprintf(note, sizeof note, "%llu events in %.3f s = %.0f events/s (propose %.3f s, confirm %.3f s)",
                static_cast<unsigned long long>(events), seconds, events / seconds, propose_s, seconds - propose_s);
  f.notes.push_back(note);
  return f;
}

int measure_loaded_memory(const std::string& store_dir) {
  Population loaded(store_dir, true, true);
  const size_t partners = must(loaded.engine().state(), "state")->partners().size();
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) {
      const long kib = std::stol(line.substr(6));
      std::cout << kib * 1024 << " " << partners << std::endl;
      return 0;
    }
  }
  std::cerr << "no VmHWM in /proc/self/status\n";
  return 1;
}

Figure memory_figure(const Context& c) {
  const std::string dir = c.work_dir + "/memory";
  const size_t n = c.scale.loaded_partners;
  Stopwatch build;
  {
    CertMinter minter;
    Population setup(dir, false, true);
    setup.seed(n, true, minter);
  }
  const double build_s = build.seconds();
  // A fresh process, so that only loading counts, as when `serve` or a command starts.
  const std::string command = "'" + c.self_binary + "' --measure-memory '" + dir + "'";
  FILE* child = popen(command.c_str(), "r");
  unsigned long long bytes = 0, partners = 0;
  const int got = child ? std::fscanf(child, "%llu %llu", &bytes, &partners) : 0;
  const int status = child ? pclose(child) : -1;
  if (got != 2 || status != 0) throw std::runtime_error("the memory measurement child failed");
  if (partners != n) throw std::runtime_error("the child loaded " + std::to_string(partners) + " partners");

  Figure f;
  f.name = "peak_rss_" + std::to_string(n) + "_partners";
  f.what = "peak resident memory of a process that opens the store with " + std::to_string(n) +
           " partners, each with its own certificate, and loads them (engine, outbox, projections)";
  f.value = double(bytes) / (1024.0 * 1024.0);
  f.unit = "MiB";
  f.target_kind = Figure::Target::kValueAtMost;
  f.target = 256;
  f.notes.push_back("store built through the engine (" + std::to_string(2 * n + 1) + " commands) in " +
                    std::to_string(int(build_s)) + " s");
  return f;
}

}  // namespace certsched::bench
