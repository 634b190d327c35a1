// certsched backup DEST | restore BACKUP
#include <filesystem>
#include <iostream>

#include "adapters/backup.h"
#include "adapters/cli/commands.h"
#include "adapters/cli/remote.h"
#include "adapters/cli/session.h"

namespace certsched::cli {
namespace {

// Said with every backup made without the secrets, on stderr and in the JSON answer.
constexpr const char* kWithoutSecrets =
    "the store key and the API token were not copied (--with-secrets copies them): keep DIR/store.key safe "
    "apart from this backup; without it the sealed keys in the backup cannot be used";

int run_backup(const GlobalOptions& g, const std::string& dest, bool with_secrets) {
  // serve writes the backup itself, under its engine lock, so the path must mean the same there.
  const std::string where = std::filesystem::absolute(dest).lexically_normal().string();
  nlohmann::json j;
  if (!g.server.empty()) {
    auto r = remote_call(g, "POST", "/v1/backups", {{"dest", where}, {"with_secrets", with_secrets}});
    if (!r.ok()) return fail(g, r.status());
    j = std::move(r).value();
  } else {
    auto session = open_session(g, true, "certsched backup");
    if (!session.ok()) return fail(g, session.status());
    auto r = adapters::write_backup(*(*session)->store, *(*session)->projections, g.store_dir, where, with_secrets);
    if (!r.ok()) return fail(g, r.status());
    j = adapters::to_json(r.value());
  }
  if (!with_secrets) {
    j["notice"] = kWithoutSecrets;
    if (!g.json) std::cerr << "certsched: " << kWithoutSecrets << "\n";
  }
  if (j.contains("log_notice") && !g.json) std::cerr << "certsched: " << j["log_notice"].get<std::string>() << "\n";
  print_result(g, j,
               "Backed up the store to " + j["backup"].get<std::string>() + "\n  position:    " +
                   std::to_string(j["position"].get<uint64_t>()) + "\n  head hash:   " + j["head_hash"].get<std::string>() +
                   "\n  sealed keys: " + std::to_string(j["sealed_keys"].get<size_t>()) + "\n  files:       " +
                   std::to_string(j["files"].get<size_t>()) + " (" + std::to_string(j["bytes"].get<uint64_t>()) +
                   " bytes)\n");
  return kExitOk;
}

int run_restore(const GlobalOptions& g, const std::string& backup) {
  auto r = adapters::restore_backup(backup, g.store_dir);
  if (!r.ok()) return fail(g, r.status());
  nlohmann::json j = adapters::to_json(r.value());
  std::string text = "Restored store " + r->store_dir + " from " + backup + "; its log verifies.\n  position:  " +
                     std::to_string(r->position) + "\n  head hash: " + r->head_hash + "\n";
  if (!r->store_key) {
    const std::string notice = "the backup has no store key: put the original store.key into " + r->store_dir +
                               "/store.key (mode 0600) before local certificates are scheduled or installed";
    j["notice"] = notice;
    if (!g.json) std::cerr << "certsched: " << notice << "\n";
  }
  print_result(g, j, text);
  return kExitOk;
}

}  // namespace

void add_backup_commands(CLI::App& app, GlobalOptions& g, CommandRunner& run) {
  auto dest = std::make_shared<std::string>();
  auto with_secrets = std::make_shared<bool>(false);
  CLI::App* backup = app.add_subcommand("backup", "copy the store, even while serve runs, as one consistent point");
  backup->footer("Example: certsched --store /var/lib/certsched backup /backups/certsched-2026-12-03");
  backup->add_option("DEST", *dest, "a new directory for the backup")->required();
  backup->add_flag("--with-secrets", *with_secrets, "also copy the store key and the API token");
  backup->callback([&g, &run, dest, with_secrets] { run = [&g, dest, with_secrets] { return run_backup(g, *dest, *with_secrets); }; });

  auto from = std::make_shared<std::string>();
  CLI::App* restore = app.add_subcommand("restore", "make a new store (--store DIR) from a backup, and verify it");
  restore->footer("Example: certsched --store /var/lib/certsched-restored restore /backups/certsched-2026-12-03");
  restore->add_option("BACKUP", *from, "the backup's directory")->required();
  restore->callback([&g, &run, from] { run = [&g, from] { return run_restore(g, *from); }; });
}

}  // namespace certsched::cli
