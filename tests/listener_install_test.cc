// Listener installs into a real nginx serving TLS on loopback: a TLS client sees the old
// certificate before the install and the new one after; a failed reload puts the old
// files back and is recorded.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "adapters/listener_files.h"
#include "tests/engine_fixture.h"
#include "tests/servers.h"

namespace certsched {
namespace {

using domain::Listener;
using domain::Role;
using testing::read_file;

class ListenerInstallTest : public testing::EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    www_ = store_dir_->sub("www");
    nginx_ = std::make_unique<testing::NginxServer>(store_dir_->sub("nginx"), www_);
    // Configuring the listener installs its current certificate's files; nginx is not
    // running yet, so there is nothing to reload the first time.
    auto configured = engine_->configure_listener({Listener::kHTTP, "srv-old", www_, ""}, ctx(), &installer_);
    ASSERT_TRUE(configured.ok()) << configured.status().ToString();
    nginx_->start();
    configured = engine_->configure_listener({Listener::kHTTP, "srv-old", www_, nginx_->reload_command()}, ctx(),
                                             &installer_);
    ASSERT_TRUE(configured.ok()) << configured.status().ToString();
    // That configure reloaded nginx; until nginx has read the files, a test's later change to
    // them could be what it reads.
    nginx_->wait_for_reloads(1);
  }
  void TearDown() override {
    nginx_.reset();
    EngineFixture::TearDown();
  }
  std::string wait_for_fingerprint(const std::string& expected) {
    std::string seen;
    for (int i = 0; i < 100; ++i) {  // old workers finish gracefully after a reload
      seen = testing::tls_fingerprint(nginx_->port());
      if (seen == expected) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return seen;
  }
  std::string propose_and_confirm_new_server_cert() {
    domain::ProposeCommand c;
    c.partners = {"acme", "globex"};
    c.roles = {{Role::kLocalSslServer, "srv-new"}};
    c.password = "pw";
    auto p = engine_->propose(c, ctx());
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_TRUE(engine_->confirm(p->proposal_id, ctx()).ok());
    return p->proposal_id;
  }

  std::string www_;
  std::unique_ptr<testing::NginxServer> nginx_;
  adapters::FileListenerInstaller installer_;
};

TEST_F(ListenerInstallTest, NginxServesTheNewCertificateAfterTheInstall) {
  EXPECT_EQ(testing::tls_fingerprint(nginx_->port()), fp("srv-old"));
  propose_and_confirm_new_server_cert();
  EXPECT_EQ(testing::tls_fingerprint(nginx_->port()), fp("srv-old"));  // confirmed is not installed

  auto installed = engine_->install_listener(Listener::kHTTP, installer_, ctx(now_ + 1));
  ASSERT_TRUE(installed.ok()) << installed.status().ToString();
  EXPECT_EQ(wait_for_fingerprint(fp("srv-new")), fp("srv-new"));

  struct stat st {};
  ASSERT_EQ(stat((www_ + "/key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  ASSERT_EQ(stat((www_ + "/cert.pem").c_str(), &st), 0);
  EXPECT_EQ(read_file(www_ + "/cert.pem"), read_file((*certs_)["srv-new"].cert_pem));
  for (const auto& e : std::filesystem::directory_iterator(www_)) {
    EXPECT_EQ(e.path().string().find("certsched-tmp"), std::string::npos) << "left behind: " << e.path();
  }
  // Both names lead through one `current` link, which switched to the new pair in one rename;
  // the previous pair is kept beside it, and no more.
  EXPECT_EQ(std::filesystem::read_symlink(www_ + "/cert.pem"), ".certsched/current/cert.pem");
  EXPECT_EQ(std::filesystem::read_symlink(www_ + "/key.pem"), ".certsched/current/key.pem");
  int pairs = 0;
  for (const auto& e : std::filesystem::directory_iterator(www_ + "/.certsched")) pairs += e.is_directory() && !e.is_symlink();
  EXPECT_EQ(pairs, 2);
}

TEST_F(ListenerInstallTest, AFailedReloadRestoresTheOldFilesAndIsRecorded) {
  propose_and_confirm_new_server_cert();
  const std::string old_cert = read_file(www_ + "/cert.pem");
  const std::string old_key = read_file(www_ + "/key.pem");
  // The same listener, but its reload command fails this time.
  struct FailingReload : domain::ListenerInstaller {
    adapters::FileListenerInstaller files;
    Status install(const domain::ListenerInstall& r) override {
      domain::ListenerInstall copy;
      copy.listener = r.listener;
      copy.dir = r.dir;
      copy.reload_command = "echo 'nginx: [emerg] cannot load certificate' >&2; exit 1";
      copy.alias = r.alias;
      copy.fingerprint = r.fingerprint;
      copy.cert_pem = r.cert_pem;
      copy.key_pem = domain::SecretBytes(std::string(r.key_pem.reveal()));
      return files.install(copy);
    }
  } broken;
  auto failed = engine_->install_listener(Listener::kHTTP, broken, ctx(now_ + 1));
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("exited with status 1: nginx: [emerg] cannot load certificate"),
            std::string::npos) << failed.status().message();
  EXPECT_EQ(read_file(www_ + "/cert.pem"), old_cert);
  EXPECT_EQ(read_file(www_ + "/key.pem"), old_key);
  EXPECT_EQ(state().listener(Listener::kHTTP)->install_failures, 1u);
  EXPECT_EQ(testing::tls_fingerprint(nginx_->port()), fp("srv-old"));

  // The retry succeeds.
  ASSERT_TRUE(engine_->install_listener(Listener::kHTTP, installer_, ctx(now_ + 2)).ok());
  EXPECT_EQ(wait_for_fingerprint(fp("srv-new")), fp("srv-new"));
}

// A directory that already holds a server's own cert.pem and key.pem (from before certsched)
// is taken over without a moment where the two do not match: the old pair becomes the first
// generation, and the reload command, which sees the files as the server would, checks them.
TEST(FileListenerInstallerTest, TakesOverFilesFromBeforeAndSwitchesThePairTogether) {
  testing::TempDir dir;
  const std::string www = dir.sub("www");
  std::filesystem::create_directories(www);
  testing::write_file(www + "/cert.pem", "old certificate\n");
  testing::write_file(www + "/key.pem", "old key\n");
  const std::string seen = dir.sub("seen");
  domain::ListenerInstall r;
  r.dir = www;
  r.cert_pem = "new certificate\n";
  r.key_pem = domain::SecretBytes(std::string("new key\n"));
  r.reload_command = "cat " + www + "/cert.pem " + www + "/key.pem > " + seen;
  adapters::FileListenerInstaller installer;
  ASSERT_TRUE(installer.install(r).ok());
  EXPECT_EQ(read_file(seen), "new certificate\nnew key\n");
  EXPECT_TRUE(std::filesystem::is_symlink(www + "/key.pem"));

  // A failed reload switches back to the old pair, which is still whole.
  r.cert_pem = "third certificate\n";
  r.key_pem = domain::SecretBytes(std::string("third key\n"));
  r.reload_command = "exit 3";
  EXPECT_FALSE(installer.install(r).ok());
  EXPECT_EQ(read_file(www + "/cert.pem") + read_file(www + "/key.pem"), "new certificate\nnew key\n");
}

// Two writers of one directory (in a cluster, a paused leader and the node that took over):
// the other installs while this one's reload runs. Whether this reload then succeeds or
// fails, the pair the other switched to stays in place, whole.
TEST(FileListenerInstallerTest, APairAnotherWriterSwitchedToMeanwhileIsNeitherPrunedNorSwitchedBack) {
  for (const char* reload_ends_with : {"true", "exit 3"}) {
    SCOPED_TRACE(reload_ends_with);
    testing::TempDir dir;
    const std::string www = dir.sub("www");
    adapters::FileListenerInstaller installer;
    domain::ListenerInstall r;
    r.dir = www;
    r.cert_pem = "first certificate\n";
    r.key_pem = domain::SecretBytes(std::string("first key\n"));
    ASSERT_TRUE(installer.install(r).ok());
    // The other writer's install, as its files would be: a new pair, then `current` switched.
    const std::string pairs = www + "/.certsched";
    r.cert_pem = "second certificate\n";
    r.key_pem = domain::SecretBytes(std::string("second key\n"));
    r.reload_command = "mkdir " + pairs + "/g-9 && printf 'other certificate\\n' > " + pairs +
                       "/g-9/cert.pem && printf 'other key\\n' > " + pairs + "/g-9/key.pem && ln -sfn g-9 " + pairs +
                       "/current.new && mv -T " + pairs + "/current.new " + pairs + "/current && " + reload_ends_with;
    EXPECT_EQ(installer.install(r).ok(), std::string(reload_ends_with) == "true");
    EXPECT_EQ(read_file(www + "/cert.pem") + read_file(www + "/key.pem"), "other certificate\nother key\n");
  }
}

TEST(ShellCommandTest, ReportsStatusOutputAndTimeouts) {
  EXPECT_TRUE(adapters::run_shell_command("true", {std::chrono::seconds(5)}).ok());
  Status failed = adapters::run_shell_command("echo boom >&2; exit 7", {std::chrono::seconds(5)});
  EXPECT_NE(failed.message().find("exited with status 7: boom"), std::string::npos) << failed.message();
  Status slow = adapters::run_shell_command("sleep 10", {std::chrono::milliseconds(200)});
  EXPECT_NE(slow.message().find("was killed"), std::string::npos) << slow.message();
}

std::string read_if_exists(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// serve's stop abandons a hung reload: the command and what it started are killed, and
// the call returns without waiting for its timeout.
TEST(ShellCommandTest, AnAbandonedCommandIsKilledWithItsChildren) {
  testing::TempDir dir;
  const std::string pid_file = dir.sub("child.pid");
  std::atomic<bool> abandon{false};
  std::thread stopper([&] {
    for (int i = 0; i < 500 && read_if_exists(pid_file).empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    abandon = true;
  });
  const Status st = adapters::run_shell_command("sleep 300 & echo $! > " + pid_file + "; wait",
                                                {std::chrono::seconds(300), &abandon});
  stopper.join();
  EXPECT_NE(st.message().find("abandoned"), std::string::npos) << st.message();
  const pid_t child = std::stoi(read_file(pid_file));
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {  // gone, or dead and not yet reaped by its new parent
    const std::string stat = read_if_exists("/proc/" + std::to_string(child) + "/stat");
    gone = stat.empty() || stat.find(") Z ") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone) << "the reload command's child " << child << " outlived the abandon";
}

}  // namespace
}  // namespace certsched
