#include "benchmarks/figure.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <iostream>
#include <mutex>
#include <thread>
#include <nlohmann/json.hpp>

namespace certsched::bench {

std::optional<double> Figure::ratio() const {
  if (!baseline || *baseline <= 0) return std::nullopt;
  return value / *baseline;
}

bool Figure::met() const {
  if (target_kind == Target::kValueAtMost) return value <= target;
  auto r = ratio();
  return r && *r >= target;
}

std::string Figure::target_text() const {
  char buf[64];
  if (target_kind == Target::kValueAtMost) {
    std::snprintf(buf, sizeof buf, "<= %g %s", target, unit.c_str());
  } else {
    std::snprintf(buf, sizeof buf, ">= %gx", target);
  }
  return buf;
}

namespace {

std::string number(double v) {
  char buf[32];
  if (v >= 100) std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (v >= 1) std::snprintf(buf, sizeof buf, "%.2f", v);
  else std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

}  // namespace

void print_table(const std::vector<Figure>& figures, const std::string& machine) {
  std::printf("certsched benchmarks (%s)\n\n", machine.c_str());
  std::printf("%-34s %14s %-10s %14s %7s %-14s %s\n", "figure", "certsched", "unit", "raw baseline", "ratio",
              "target", "");
  for (const Figure& f : figures) {
    auto r = f.ratio();
    std::printf("%-34s %14s %-10s %14s %7s %-14s %s\n", f.name.c_str(), number(f.value).c_str(), f.unit.c_str(),
                f.baseline ? number(*f.baseline).c_str() : "-", r ? (number(*r) + "x").c_str() : "-",
                f.target_text().c_str(), f.met() ? "met" : "MISSED");
  }
  std::printf("\n");
  for (const Figure& f : figures) {
    std::printf("%s: %s", f.name.c_str(), f.what.c_str());
    if (f.baseline) std::printf("; baseline: %s", f.baseline_what.c_str());
    std::printf("\n");
    for (const auto& n : f.notes) std::printf("    %s\n", n.c_str());
  }
  std::fflush(stdout);
}

void print_json(const std::vector<Figure>& figures) {
  nlohmann::json out = nlohmann::json::object();
  for (const Figure& f : figures) {
    auto r = f.ratio();
    out[f.name] = {{"value", f.value},
                   {"unit", f.unit},
                   {"baseline", f.baseline ? nlohmann::json(*f.baseline) : nlohmann::json(nullptr)},
                   {"ratio", r ? nlohmann::json(*r) : nlohmann::json(nullptr)},
                   {"target", f.target_text()},
                   {"met", f.met()}};
  }
  std::cout << out.dump() << std::endl;
}

std::pair<double, double> median_of_alternating(const std::function<double(int run)>& ours,
                                                const std::function<double(int run)>& raw) {
  std::vector<double> a, b;
  for (int run = 0; run < kAlternatingRuns; ++run) {
    b.push_back(raw(run));
    a.push_back(ours(run));
  }
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return {a[kAlternatingRuns / 2], b[kAlternatingRuns / 2]};
}

std::pair<double, double> rates_of_interleaved_rounds(int rounds, double operations_per_round,
                                                      const std::function<double()>& ours,
                                                      const std::function<double()>& raw) {
  double ours_seconds = 0, raw_seconds = 0;
  for (int round = 0; round < rounds; ++round) {
    if (round % 2 == 0) {
      raw_seconds += raw();
      ours_seconds += ours();
    } else {
      ours_seconds += ours();
      raw_seconds += raw();
    }
  }
  const double operations = rounds * operations_per_round;
  return {operations / ours_seconds, operations / raw_seconds};
}

double seconds_of_writers(int threads, size_t per_thread, const std::function<void()>& op) {
  std::mutex mu;
  std::exception_ptr failure;
  Stopwatch clock;
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t) {
    writers.emplace_back([&] {
      try {
        for (size_t i = 0; i < per_thread; ++i) op();
      } catch (...) {
        std::lock_guard<std::mutex> l(mu);
        if (!failure) failure = std::current_exception();
      }
    });
  }
  for (auto& w : writers) w.join();
  const double seconds = clock.seconds();
  if (failure) std::rethrow_exception(failure);
  return seconds;
}

}  // namespace certsched::bench
