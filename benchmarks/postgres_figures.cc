// Figures 10-12: the clustered store against raw libpq on the same PostgreSQL server in the
// same run. The server is started for the run (as the tests start theirs), with its default
// durability: each commit waits for its WAL flush.
#include <libpq-fe.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "benchmarks/figures.h"
#include "eventstore/event_store.h"
#include "tests/servers.h"

namespace certsched::bench {
namespace {

eventstore::AppendRequest request(uint64_t n, size_t streams, const std::string& payload) {
  eventstore::AppendRequest r;
  for (size_t s = 0; s < streams; ++s) {
    r.writes.push_back({"partner-" + std::to_string((n * streams + s) % 1000), eventstore::ExpectedVersion::Any(),
                        {{"BenchEvent", 1, payload}}});
  }
  r.command_id = "bench-" + std::to_string(n);
  r.actor = "bench";
  return r;
}

std::unique_ptr<eventstore::EventStore> open_store(const std::string& uri) {
  eventstore::StoreOptions o;
  o.create_if_missing = true;
  auto s = eventstore::open_postgres_store(uri, "", o);
  if (!s.ok()) throw std::runtime_error(s.status().message());
  return std::move(s).value();
}

PGconn* connect(const std::string& uri) {
  PGconn* c = PQconnectdb(uri.c_str());
  if (PQstatus(c) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(c));
  return c;
}

void exec(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  const auto status = PQresultStatus(r);
  PQclear(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) throw std::runtime_error(PQerrorMessage(c));
}

// The raw side: one INSERT of the same bytes per transaction (autocommit), each writer on
// its own connection. The INSERT is prepared once per connection, as certsched prepares its
// statements: parsing and planning each INSERT again slows the raw side and flatters the
// ratio (figure 10 read about 0.70x that way, against 0.64x; docs/benchmarks.md).
class RawInserts {
 public:
  RawInserts(const std::string& uri, int writers) {
    for (int i = 0; i < writers; ++i) connections_.push_back(connect(uri));
    exec(connections_[0], "CREATE TABLE IF NOT EXISTS raw_log (position bigint PRIMARY KEY, value bytea NOT NULL)");
    for (PGconn* c : connections_) {
      PGresult* r = PQprepare(c, "raw_insert", "INSERT INTO raw_log VALUES ($1::bigint, $2::bytea)", 2, nullptr);
      const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
      PQclear(r);
      if (!ok) throw std::runtime_error(PQerrorMessage(c));
    }
  }
  ~RawInserts() {
    for (PGconn* c : connections_) PQfinish(c);
  }
  double inserts(int threads, size_t per_thread, const std::string& value) {
    std::atomic<int> next_connection{0};
    thread_local PGconn* mine = nullptr;
    mine = nullptr;
    return seconds_of_writers(threads, per_thread, [&] {
      if (!mine) mine = connections_[next_connection++];
      const std::string key = std::to_string(++next_);
      const char* values[] = {key.c_str(), value.data()};
      const int lengths[] = {0, static_cast<int>(value.size())};
      const int formats[] = {0, 1};
      PGresult* r = PQexecPrepared(mine, "raw_insert", 2, values, lengths, formats, 0);
      const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
      PQclear(r);
      if (!ok) throw std::runtime_error("a raw INSERT failed");
    });
  }

 private:
  std::vector<PGconn*> connections_;
  std::atomic<uint64_t> next_{0};
};

Figure append_figure(const std::string& uri_ours, const std::string& uri_raw, int writers, size_t total,
                     const Scale& scale) {
  auto store = open_store(uri_ours);
  RawInserts raw(uri_raw, writers);
  const std::string payload(scale.payload_bytes, 'p');
  std::atomic<uint64_t> n{0};
  const size_t per_round = std::max<size_t>(total / scale.append_rounds, writers);
  const auto [ours, theirs] = rates_of_interleaved_rounds(
      scale.append_rounds, static_cast<double>(per_round),
      [&] {
        return seconds_of_writers(writers, per_round / writers, [&] {
          if (!store->append(request(n++, 1, payload)).ok()) throw std::runtime_error("an append failed");
        });
      },
      [&] { return raw.inserts(writers, per_round / writers, payload); });
  Figure f;
  f.name = writers == 1 ? "pg_durable_append_1_writer" : "pg_durable_append_16_writers";
  f.what = "clustered store: durable appends, " + std::to_string(writers) + (writers == 1 ? " writer" : " writers");
  f.baseline_what = "raw libpq INSERT of the same bytes, one transaction each";
  f.value = ours;
  f.baseline = theirs;
  f.unit = "events/s";
  f.target = 0.7;
  return f;
}

Figure replay_figure(const std::string& uri, const Scale& scale) {
  auto store = open_store(uri);
  const std::string payload(scale.payload_bytes, 'p');
  // The log: appends of one event to each of ten streams (a row each), as proposals write.
  const size_t appends = scale.pg_replay_events / 10;
  std::atomic<uint64_t> n{0};
  seconds_of_writers(4, appends / 4, [&] {
    if (!store->append(request(n++, 10, payload)).ok()) throw std::runtime_error("an append failed");
  });
  PGconn* c = connect(uri);
  const auto [ours, theirs] = median_of_alternating(
      [&](int) {
        Stopwatch w;
        uint64_t events = 0;
        auto report = store->verify([&](const eventstore::RecordedEvent&) {
          ++events;
          return Status::Ok();
        });
        if (!report.ok() || !report->verified) throw std::runtime_error("the log did not verify");
        return double(events) / w.seconds();
      },
      [&](int) {
        Stopwatch w;
        PGresult* r = PQexecParams(c, "SELECT position, value FROM certsched.log ORDER BY position", 0, nullptr,
                                   nullptr, nullptr, nullptr, 1);
        const double rows = PQntuples(r);  // one event each
        PQclear(r);
        return rows / w.seconds();
      });
  PQfinish(c);
  Figure f;
  f.name = "pg_verified_replay_100000";
  f.what = "clustered store: verified replay of " + std::to_string(n.load() * 10) + " events";
  f.baseline_what = "raw SELECT of the same rows, in order";
  f.value = ours;
  f.baseline = theirs;
  f.unit = "events/s";
  f.target = 0.3;
  return f;
}

}  // namespace

std::vector<Figure> postgres_figures(const Context& c) {
  testing::PostgresServer server;
  server.start();
  std::vector<Figure> out;
  out.push_back(append_figure(server.create_database("ours1"), server.create_database("raw1"), 1,
                              c.scale.synced_appends, c.scale));
  out.push_back(append_figure(server.create_database("ours16"), server.create_database("raw16"), c.scale.writers,
                              c.scale.synced_appends, c.scale));
  out.push_back(replay_figure(server.create_database("replay"), c.scale));
  return out;
}

}  // namespace certsched::bench
