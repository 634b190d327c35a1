// The scheduler election of a clustered store. A node schedules while its own session holds
// a PostgreSQL advisory lock; on taking it, it raises the leader epoch kept in the head row,
// so that every append committed after that sees the new epoch, and the old leader's
// scheduler appends (which carry the old one) are refused: fencing.
//
// The lock goes when the session goes: at once when the leader's process dies or its
// connection drops, and within kIdleSessionSeconds when the process is paused (SIGSTOP, a
// long GC-like stall), because the server ends a session that sends nothing for that long
// and a leader's heartbeat is every second.
#include <unistd.h>

#include <condition_variable>
#include <thread>

#include "eventstore/postgres_event_store.h"

namespace certsched::eventstore::internal {
namespace {

constexpr const char* kSchedulerLock = "7405110912";
constexpr int kIdleSessionSeconds = 3;
constexpr auto kBeat = std::chrono::seconds(1);

class PgSchedulerLease final : public SchedulerLease {
 public:
  PgSchedulerLease(std::string uri, std::string node, std::function<void()> changed)
      : uri_(std::move(uri)), node_(std::move(node)), changed_(std::move(changed)) {
    attempt();  // so that a node knows its first role before it starts
    thread_ = std::thread([this] { run(); });
  }
  ~PgSchedulerLease() override {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  bool leads() const override { return epoch_.load() != 0; }
  uint64_t epoch() const override { return epoch_.load(); }
  std::string role() const override { return leads() ? "leader" : "follower"; }
  std::string unreachable() const override {
    std::lock_guard<std::mutex> l(problem_mu_);
    return problem_;
  }
  bool shared() const override { return true; }
  void step_down() override {
    {
      std::lock_guard<std::mutex> l(mu_);
      step_down_ = true;
    }
    cv_.notify_all();
  }

 private:
  void set_epoch(uint64_t e) {
    if (epoch_.exchange(e) != e) changed_();
  }
  // What the last attempt to reach the database met; empty once it reached it.
  void set_problem(const std::string& problem) {
    bool flipped;
    {
      std::lock_guard<std::mutex> l(problem_mu_);
      flipped = problem_.empty() != problem.empty();
      problem_ = problem;
    }
    if (flipped) changed_();
  }

  // Takes the lock if it is free and raises the epoch; the new epoch, or 0.
  Result<uint64_t> try_to_lead(PgConnection& c) {
    CERTSCHED_ASSIGN_OR_RETURN(auto got, c.run(std::string("SELECT pg_try_advisory_lock(") + kSchedulerLock + ")"));
    if (got.size() != 1 || got.bytes(0, 0) != std::string_view("\1", 1)) return uint64_t{0};
    CERTSCHED_RETURN_IF_ERROR(c.script("BEGIN"));
    auto raised = [&]() -> Result<uint64_t> {
      // The epoch is the head row's: an append waiting on this update sees the new one.
      CERTSCHED_ASSIGN_OR_RETURN(auto rows,
                                 c.run("UPDATE certsched.head SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch"));
      CERTSCHED_RETURN_IF_ERROR(c.run("UPDATE certsched.leader SET node = $1::text, since = now() WHERE id = 1",
                                      {PgParam::bytes_of(node_)})
                                    .status());
      CERTSCHED_RETURN_IF_ERROR(c.script("COMMIT"));
      return static_cast<uint64_t>(rows.bigint(0, 0));
    }();
    if (!raised.ok()) (void)c.script("ROLLBACK");
    return raised;
  }

  // Connects if need be, then takes the lead if it is free, or beats if this node leads.
  void attempt() {
    std::unique_ptr<PgConnection>& c = connection_;
    if (!c || !c->healthy()) {
      c.reset();
      set_epoch(0);
      auto made = PgConnection::connect(uri_);
      Status set = made.ok() ? (*made)->script("SET idle_session_timeout = '" + std::to_string(kIdleSessionSeconds) + "s'")
                             : made.status();
      if (!set.ok()) return set_problem(set.message());
      c = std::move(made).value();
    }
    if (!leads()) {
      if (std::chrono::steady_clock::now() < rest_until_) return set_problem("");
      auto led = try_to_lead(*c);
      if (led.ok()) {
        set_epoch(led.value());
      } else {
        c.reset();
      }
      set_problem(led.ok() ? "" : led.status().message());
    } else if (Status beat = c->script("SELECT 1"); !beat.ok()) {  // the heartbeat
      c.reset();
      set_problem(beat.message());
      set_epoch(0);
    } else {
      set_problem("");
    }
  }

  void run() {
    for (;;) {
      {
        std::unique_lock<std::mutex> l(mu_);
        if (stop_) break;
        if (step_down_) {
          step_down_ = false;
          connection_.reset();  // the session, and its lock, end here
          set_epoch(0);
          // Another node takes over meanwhile, rather than this one again at once.
          rest_until_ = std::chrono::steady_clock::now() + std::chrono::seconds(kIdleSessionSeconds);
        }
      }
      attempt();
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, kBeat, [&] { return stop_ || step_down_; });
    }
    connection_.reset();
    epoch_ = 0;
  }

  std::string uri_;
  std::string node_;
  std::function<void()> changed_;
  std::unique_ptr<PgConnection> connection_;  // the session holding the lock; the thread's own
  std::chrono::steady_clock::time_point rest_until_;  // after stepping down: not before this
  std::atomic<uint64_t> epoch_{0};
  mutable std::mutex problem_mu_;
  std::string problem_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool step_down_ = false;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<SchedulerLease> PostgresEventStore::elect_scheduler(const std::string& node,
                                                                    std::function<void()> changed) {
  return std::make_unique<PgSchedulerLease>(pool_.uri(), node, std::move(changed));
}

}  // namespace certsched::eventstore::internal
