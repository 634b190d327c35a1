// `serve` under a service manager: the test binds its own NOTIFY_SOCKET, as systemd does for
// a Type=notify unit, and asserts that READY (after catch-up), WATCHDOG pings from the
// scheduler loop, and STOPPING on SIGTERM arrive.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/cert_factory.h"
#include "tests/cli_runner.h"
#include "tests/http_client.h"
#include "tests/test_support.h"

namespace certsched {
namespace {

class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path.copy(a.sun_path, sizeof a.sun_path - 1);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind " + path);
  }
  ~NotifySocket() { close(fd_); }
  // The next datagram, or "" after `timeout`.
  std::string next(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) return "";
    char buf[4096];
    const ssize_t n = recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
  // Datagrams until one contains `what` (returned), or "" after `timeout`.
  std::string until(const std::string& what, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      const std::string m = next(std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()));
      if (m.find(what) != std::string::npos) return m;
    }
    return "";
  }

 private:
  std::string path_;
  int fd_ = -1;
};

TEST(ServiceManagerTest, ServeTellsItsManagerReadyWatchdogAndStopping) {
  testing::TempDir dir;
  const std::string store = dir.sub("store");
  testing::StoreCli(store).ok({"init", "--admin-email", "pki@example.com"});
  NotifySocket manager(dir.sub("notify.sock"));
  // A 400 ms watchdog: serve must ping at least every 200 ms, even with nothing due.
  testing::ServeProcess serve = testing::start_serve(
      store, dir.sub("serve.log"), {}, "", {"NOTIFY_SOCKET=" + dir.sub("notify.sock"), "WATCHDOG_USEC=400000"});
  ASSERT_TRUE(serve.ready) << testing::read_file(dir.sub("serve.log"));
  const std::string ready = manager.until("READY=1", std::chrono::seconds(5));
  ASSERT_FALSE(ready.empty());
  EXPECT_NE(ready.find("STATUS=serving store " + store + " at position 1"), std::string::npos) << ready;
  int pings = 0;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < end) {
    if (manager.next(std::chrono::milliseconds(500)).find("WATCHDOG=1") != std::string::npos) ++pings;
  }
  EXPECT_GE(pings, 5) << "a 400 ms watchdog needs a ping every 200 ms";
  testing::stop_serve(serve);
  EXPECT_FALSE(manager.until("STOPPING=1", std::chrono::seconds(5)).empty());
}

TEST(ServiceManagerTest, WithoutAManagerServeRunsAsBefore) {
  testing::TempDir dir;
  const std::string store = dir.sub("store");
  testing::StoreCli(store).ok({"init", "--admin-email", "pki@example.com"});
  testing::ServeProcess serve = testing::start_serve(store, dir.sub("serve.log"));
  ASSERT_TRUE(serve.ready);
  EXPECT_EQ(WEXITSTATUS(testing::stop_serve(serve)), 0);
}

}  // namespace
}  // namespace certsched
