#include "adapters/listener_files.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "adapters/atomic_file.h"

extern char** environ;

namespace certsched::adapters {

Status run_shell_command(const std::string& command, std::chrono::milliseconds timeout) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Status::IOError(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid;
  const int spawned = posix_spawn(&pid, "/bin/sh", &actions, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (spawned != 0) {
    ::close(out[0]);
    return Status::IOError("cannot run /bin/sh: " + std::string(std::strerror(spawned)));
  }
  std::string output;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
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
  if (timed_out) return Status::IOError("command `" + command + "` took longer than " + std::to_string(timeout.count()) + " ms and was killed");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  if (WIFEXITED(status)) return Status::IOError("command `" + command + "` exited with status " + std::to_string(WEXITSTATUS(status)) + said);
  return Status::IOError("command `" + command + "` died of signal " + std::to_string(WTERMSIG(status)) + said);
}

Status FileListenerInstaller::install(const domain::ListenerInstall& r) {
  std::error_code ec;
  std::filesystem::create_directories(r.dir, ec);
  if (ec) return Status::IOError("cannot create listener directory " + r.dir + ": " + ec.message());
  const std::string cert_path = r.dir + "/cert.pem";
  const std::string key_path = r.dir + "/key.pem";
  auto old_cert = read_file_if_exists(cert_path);
  if (!old_cert.ok()) return old_cert.status();
  auto old_key = read_file_if_exists(key_path);
  if (!old_key.ok()) return old_key.status();
  const bool had_key = old_key->has_value();
  domain::SecretBytes previous_key(had_key ? std::move(**old_key) : std::string());

  CERTSCHED_RETURN_IF_ERROR(write_file_atomically(cert_path, r.cert_pem, 0644));
  Status st = write_file_atomically(key_path, r.key_pem.reveal(), 0600);
  if (st.ok() && !r.reload_command.empty()) st = run_shell_command(r.reload_command, reload_timeout_);
  if (st.ok()) return st;

  // Put the previous pair back (or remove the new one), so the files match the certificate
  // certsched still records as current.
  if (old_cert->has_value()) (void)write_file_atomically(cert_path, **old_cert, 0644);
  else ::unlink(cert_path.c_str());
  if (had_key) (void)write_file_atomically(key_path, previous_key.reveal(), 0600);
  else ::unlink(key_path.c_str());
  return st;
}

}  // namespace certsched::adapters
