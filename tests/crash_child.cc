// Helper process for the crash test and the CLI tests.
//   crash_child append STORE THREADS   appends durably from THREADS threads and writes
//                                      "ack STREAM VERSION POSITION" on stdout after each
//                                      acknowledged append, until killed.
//   crash_child hold STORE             holds the store for writing and prints "ready".
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "eventstore/event_store.h"

using namespace certsched::eventstore;

namespace {

void say(const std::string& line) {
  // One write(2) per line: lines from different threads never interleave (< PIPE_BUF).
  const std::string s = line + "\n";
  if (::write(1, s.data(), s.size()) != static_cast<ssize_t>(s.size())) std::_Exit(3);
}

std::unique_ptr<EventStore> open(const char* dir, const char* holder) {
  StoreOptions options;
  options.create_if_missing = true;
  options.sync = true;
  options.holder = holder;
  auto store = open_rocksdb_store(dir, options);
  if (!store.ok()) {
    std::fprintf(stderr, "crash_child: %s\n", store.status().ToString().c_str());
    std::exit(2);
  }
  return std::move(store).value();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::string(argv[1]) == "hold") {
    auto store = open(argv[2], "crash_child hold");
    say("ready");
    for (;;) pause();
  }
  if (argc < 4 || std::string(argv[1]) != "append") {
    std::fprintf(stderr, "usage: crash_child append STORE THREADS | hold STORE\n");
    return 2;
  }
  auto store = open(argv[2], "crash_child append");
  say("ready");  // the parent times its kill from here, however slow the open was
  const int threads = std::atoi(argv[3]);
  const std::string run = std::to_string(getpid()) + "-" + std::to_string(std::random_device{}());
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      const std::string stream = "writer-" + std::to_string(t);
      auto version = store->stream_version(stream);
      if (!version.ok()) std::_Exit(4);
      uint64_t v = version.value();
      for (uint64_t i = 0;; ++i) {
        AppendRequest req;
        // Some appends write two streams at once, to exercise multi-stream atomicity.
        req.writes.push_back({stream, ExpectedVersion::Exactly(v), {{"Tick", 1, "x"}}});
        if (i % 5 == 0) req.writes.push_back({"shared", ExpectedVersion::Any(), {{"Tick", 1, "y"}}});
        req.command_id = run + "-" + std::to_string(t) + "-" + std::to_string(i);
        req.actor = "crash_child";
        auto r = store->append(req);
        if (!r.ok()) {
          std::fprintf(stderr, "crash_child: %s\n", r.status().ToString().c_str());
          std::_Exit(5);
        }
        v = r->versions[0].version;
        say("ack " + stream + " " + std::to_string(v) + " " + std::to_string(r->first_position));
      }
    });
  }
  for (auto& w : workers) w.join();
  return 0;
}
