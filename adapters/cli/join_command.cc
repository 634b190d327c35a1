// certsched join: makes another node's directory for a clustered store.
#include "adapters/cli/commands.h"
#include "adapters/cluster_node.h"

namespace certsched::cli {
namespace {

struct JoinArgs {
  std::string backend;
  std::string store_key;
};

int run_join(const GlobalOptions& g, const JoinArgs& a) {
  auto joined = adapters::join_cluster(a.backend, a.store_key, g.store_dir);
  if (!joined.ok()) return report_error(g, joined.status());
  nlohmann::json j = {{"store", joined->store_dir},
                      {"backend", a.backend},
                      {"position", joined->position},
                      {"head_hash", joined->head_hash_hex}};
  print_result(g, j,
               "Joined the store at " + a.backend + " as node " + joined->store_dir + "\n  position:  " +
                   std::to_string(joined->position) + "\n  head hash: " + joined->head_hash_hex +
                   "\n  store key: " + joined->store_dir + "/store.key (0600, a copy of " + a.store_key +
                   ")\n  api token: " + joined->store_dir + "/api-token (0600, this node's own)\n");
  return kExitOk;
}

}  // namespace

void add_join_command(CLI::App& app, GlobalOptions& g, CommandRunner& run) {
  auto args = std::make_shared<JoinArgs>();
  CLI::App* cmd = app.add_subcommand("join", "make this directory another node of a clustered store");
  cmd->footer("Example: certsched --store /var/lib/certsched join --backend "
              "'postgresql://certsched@db1,db2/certsched?target_session_attrs=read-write' "
              "--store-key /root/first-node-store.key");
  cmd->add_option("--backend", args->backend, "the store's PostgreSQL database (a libpq URI without a password)")
      ->required()
      ->option_text("URI");
  cmd->add_option("--store-key", args->store_key, "a copy of the first node's store.key")
      ->required()
      ->option_text("FILE");
  cmd->callback([&g, &run, args] { run = [&g, args] { return run_join(g, *args); }; });
}

}  // namespace certsched::cli
