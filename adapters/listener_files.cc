#include "adapters/listener_files.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "base/atomic_file.h"

extern char** environ;

namespace certsched::adapters {

Status run_shell_command(const std::string& command, CallLimits limits) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Status::IOError(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  // Its own process group, so that a kill reaches what the shell started too (a `sleep`).
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attributes, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);  // serve blocks SIGTERM in its threads
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid;
  const int spawned = posix_spawn(&pid, "/bin/sh", &actions, &attributes, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(out[1]);
  if (spawned != 0) {
    ::close(out[0]);
    return Status::IOError("cannot run /bin/sh: " + std::string(std::strerror(spawned)));
  }
  std::string output;
  const auto deadline = std::chrono::steady_clock::now() + limits.timeout;
  bool timed_out = false;
  bool abandoned = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    timed_out = left.count() <= 0;
    abandoned = limits.abandoned();
    if (timed_out || abandoned) {
      ::kill(-pid, SIGKILL);
      break;
    }
    pollfd p{out[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 100))) > 0) {
      char buf[1024];
      const ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) break;  // the command closed its output: it is exiting
      output.append(buf, static_cast<size_t>(n));
      if (output.size() > 4096) output.erase(0, output.size() - 4096);
    }
  }
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  if (output.size() > 300) output = "..." + output.substr(output.size() - 300);
  const std::string said = output.empty() ? "" : ": " + output;
  if (abandoned) return Status::IOError("command `" + command + "` was abandoned and killed: certsched is stopping");
  if (timed_out) {
    return Status::IOError("command `" + command + "` took longer than " + std::to_string(limits.timeout.count()) +
                           " ms and was killed");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  if (WIFEXITED(status)) return Status::IOError("command `" + command + "` exited with status " + std::to_string(WEXITSTATUS(status)) + said);
  return Status::IOError("command `" + command + "` died of signal " + std::to_string(WTERMSIG(status)) + said);
}

namespace {

namespace fs = std::filesystem;

// The layout that lets the certificate and key change together, in one rename:
//   DIR/cert.pem -> .certsched/current/cert.pem
//   DIR/key.pem  -> .certsched/current/key.pem
//   DIR/.certsched/current -> g-<ns>          (the pair in use)
//   DIR/.certsched/g-<ns>/{cert.pem,key.pem}  (each pair ever written, the last two kept)
// Replacing `current` switches both files at once, so a crash or a reader never sees the
// new certificate with the old key.
constexpr const char* kPairs = ".certsched";

// Points the symlink `link` at `target`, atomically, whatever `link` was before.
Status replace_symlink(const std::string& target, const std::string& link) {
  const std::string tmp = link + ".certsched-tmp";
  ::unlink(tmp.c_str());
  if (::symlink(target.c_str(), tmp.c_str()) != 0 || ::rename(tmp.c_str(), link.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Status::IOError("cannot point " + link + " at " + target + ": " + std::strerror(err));
  }
  return base::sync_directory(fs::path(link).parent_path().string());
}

std::string link_target(const std::string& link) {
  std::error_code ec;
  const fs::path target = fs::read_symlink(link, ec);
  return ec ? std::string() : target.string();
}

// Writes a pair into a new generation directory and returns its name.
Result<std::string> write_pair(const std::string& pairs_dir, const std::string& cert, const std::string& key) {
  const auto ns = std::chrono::system_clock::now().time_since_epoch().count();
  const std::string name = "g-" + std::to_string(ns);
  const std::string dir = pairs_dir + "/" + name;
  if (::mkdir(dir.c_str(), 0755) != 0) return Status::IOError("cannot create " + dir + ": " + std::strerror(errno));
  CERTSCHED_RETURN_IF_ERROR(base::write_file_atomically(dir + "/cert.pem", cert, 0644));
  CERTSCHED_RETURN_IF_ERROR(base::write_file_atomically(dir + "/key.pem", key, 0600));
  CERTSCHED_RETURN_IF_ERROR(base::sync_directory(pairs_dir));
  return name;
}

// Makes DIR/cert.pem and DIR/key.pem the links into `current`. Files from before certsched
// (or from an older certsched) become the first generation, so that every step leaves a
// matching pair in place.
Status adopt_layout(const std::string& dir, const std::string& pairs_dir) {
  const std::string cert_link = std::string(kPairs) + "/current/cert.pem";
  const std::string key_link = std::string(kPairs) + "/current/key.pem";
  if (link_target(dir + "/cert.pem") == cert_link && link_target(dir + "/key.pem") == key_link) return Status::Ok();
  if (link_target(pairs_dir + "/current").empty()) {
    CERTSCHED_ASSIGN_OR_RETURN(auto cert, base::read_file_if_exists(dir + "/cert.pem"));
    CERTSCHED_ASSIGN_OR_RETURN(auto key, base::read_file_if_exists(dir + "/key.pem"));
    if (!cert.has_value() || !key.has_value()) return Status::Ok();  // nothing to keep
    domain::SecretBytes old_key(std::move(*key));
    CERTSCHED_ASSIGN_OR_RETURN(auto first, write_pair(pairs_dir, *cert, old_key.reveal()));
    CERTSCHED_RETURN_IF_ERROR(replace_symlink(first, pairs_dir + "/current"));
  }
  CERTSCHED_RETURN_IF_ERROR(replace_symlink(cert_link, dir + "/cert.pem"));
  return replace_symlink(key_link, dir + "/key.pem");
}

// Removes the generations other than those in `keep` (left by earlier installs, or by a
// crash before a switch).
void prune_pairs(const std::string& pairs_dir, const std::vector<std::string>& keep) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(pairs_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("g-", 0) == 0 && std::find(keep.begin(), keep.end(), name) == keep.end()) {
      fs::remove_all(e.path(), ec);
    }
  }
}

}  // namespace

Status FileListenerInstaller::install(const domain::ListenerInstall& r) {
  const std::string pairs_dir = r.dir + "/" + kPairs;
  std::error_code ec;
  fs::create_directories(pairs_dir, ec);
  if (ec) return Status::IOError("cannot create listener directory " + pairs_dir + ": " + ec.message());
  CERTSCHED_RETURN_IF_ERROR(adopt_layout(r.dir, pairs_dir));
  const std::string previous = link_target(pairs_dir + "/current");
  CERTSCHED_ASSIGN_OR_RETURN(auto next, write_pair(pairs_dir, r.cert_pem, r.key_pem.reveal()));
  Status st = replace_symlink(next, pairs_dir + "/current");
  if (st.ok() && previous.empty()) st = adopt_layout(r.dir, pairs_dir);  // the first install: make the links
  if (st.ok() && !r.reload_command.empty()) st = run_shell_command(r.reload_command, limits_);
  // Another writer may have switched `current` meanwhile: in a cluster, the node that took
  // over from this one while it was paused, writing the same directory. What it switched
  // to stays, and stays in place.
  const std::string current_now = link_target(pairs_dir + "/current");
  if (st.ok()) {
    prune_pairs(pairs_dir, {next, previous, current_now});
    return st;
  }
  if (current_now != next) return st;
  // Put the previous pair back (or remove the new one), so the files match the certificate
  // certsched still records as current.
  if (!previous.empty()) {
    (void)replace_symlink(previous, pairs_dir + "/current");
  } else {
    ::unlink((r.dir + "/cert.pem").c_str());
    ::unlink((r.dir + "/key.pem").c_str());
    ::unlink((pairs_dir + "/current").c_str());
  }
  fs::remove_all(pairs_dir + "/" + next, ec);
  return st;
}

}  // namespace certsched::adapters
