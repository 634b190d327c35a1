// Appends an event to a new store through the installed event store and reads it back, then
// opens the engine on a store of its own: what an integrator's program does first.
#include <cstdio>
#include <string>

#include "domain/engine.h"
#include "eventstore/event_store.h"

int main(int argc, char** argv) {
  using namespace certsched;
  if (argc != 2) return 2;
  eventstore::StoreOptions options;
  options.create_if_missing = true;
  auto store = eventstore::open_rocksdb_store(argv[1], options);
  if (!store.ok()) return std::fprintf(stderr, "%s\n", store.status().ToString().c_str()), 1;
  eventstore::AppendRequest request;
  request.writes.push_back({"consumer-1", eventstore::ExpectedVersion::NoStream(), {{"Hello", 1, "from a consumer"}}});
  request.command_id = "consumer-command-1";
  auto appended = (*store)->append(request);
  if (!appended.ok()) return std::fprintf(stderr, "%s\n", appended.status().ToString().c_str()), 1;
  auto events = (*store)->read_stream("consumer-1", 1, 10);
  if (!events.ok() || events->size() != 1 || events->front().payload != "from a consumer") return 1;
  const std::string engine_dir = std::string(argv[1]) + "-engine";  // the engine's log holds domain events only
  auto engine_store = eventstore::open_rocksdb_store(engine_dir, options);
  if (!engine_store.ok()) return 1;
  auto engine = domain::Engine::open(**engine_store, engine_dir);
  if (!engine.ok()) return std::fprintf(stderr, "%s\n", engine.status().ToString().c_str()), 1;
  std::printf("appended and read back position %llu; the engine opened at position %llu\n",
              static_cast<unsigned long long>(appended->first_position),
              static_cast<unsigned long long>((*engine)->state().value()->position()));
  return 0;
}
