// One measured figure of the benchmark program, and how the run reports them: a table side
// by side with the raw RocksDB baseline measured in the same run, or one JSON object.
#pragma once

#include <chrono>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace certsched::bench {

struct Figure {
  std::string name;    // stable JSON key, e.g. "durable_append_1_writer"
  std::string what;    // one line for the table
  double value = 0;
  std::string unit;    // e.g. "events/s"
  std::optional<double> baseline;  // raw RocksDB, same run, same value sizes
  std::string baseline_what;
  // The target: a minimum ratio to the baseline, or a bound on the value itself.
  enum class Target { kRatioAtLeast, kValueAtMost } target_kind = Target::kRatioAtLeast;
  double target = 0;
  std::vector<std::string> notes;  // extra figures worth printing (e.g. median, events/s)

  std::optional<double> ratio() const;
  bool met() const;
  std::string target_text() const;
};

// Prints the figures as an aligned table, with a note on each missed target.
void print_table(const std::vector<Figure>& figures, const std::string& machine);
// Prints {NAME: {"value", "unit", "baseline", "ratio", "target", "met"}} on one line.
void print_json(const std::vector<Figure>& figures);

// Runs certsched and its baseline alternately, kAlternatingRuns times each (run 0, 1, ...),
// and returns each side's median: this machine's speed moves from one second to the next,
// alternating gives both sides the same weather, and the median drops a run that a slow
// spell caught.
constexpr int kAlternatingRuns = 5;
std::pair<double, double> median_of_alternating(const std::function<double(int run)>& ours,
                                                const std::function<double(int run)>& raw);

// Runs certsched's rounds and its baseline's alternately, `rounds` of each, the side that
// goes first swapping every round; each round returns the seconds it took. Returns each
// side's operations per second over all its rounds. This VM's disk moves between about
// 1,500 and 4,000 syncs a second from one second to the next; rounds of a
// fraction of a second give both sides the same weather, where whole runs would not.
std::pair<double, double> rates_of_interleaved_rounds(int rounds, double operations_per_round,
                                                      const std::function<double()>& ours,
                                                      const std::function<double()>& raw);

// Runs `op` `per_thread` times on each of `threads` threads at once and returns the seconds
// until all are done. An exception `op` throws on any thread stops that thread and is
// rethrown here, after the others finish.
double seconds_of_writers(int threads, size_t per_thread, const std::function<void()>& op);

// Seconds elapsed since construction, on the monotonic clock, and the CPU time this
// process (all its threads) used meanwhile.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()), start_cpu_(std::clock()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  double cpu_seconds() const { return double(std::clock() - start_cpu_) / CLOCKS_PER_SEC; }

 private:
  std::chrono::steady_clock::time_point start_;
  std::clock_t start_cpu_;
};

}  // namespace certsched::bench
