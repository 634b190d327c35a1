// The nodes of a clustered store: what `init --backend` shares through the database, and
// what `join` makes of it for another node. Each node's DIR holds its store key (a copy of
// the first node's), its own API token and projections, and the database's URI
// (DIR/backend), never a password.
#pragma once

#include <string>

#include "base/status.h"
#include "eventstore/event_store.h"

namespace certsched::adapters {

// Seals into the database what every node needs beyond the store key: a check that a
// copied store key is the right one, and the store's evidence key (each node signs packs
// with the same key). REQUIRES: DIR has its store key and evidence key.
Status share_node_secrets(const std::string& store_dir, eventstore::EventStore& store);

struct JoinedNode {
  std::string store_dir;  // absolute
  uint64_t position = 0;  // the log's head when the node joined
  std::string head_hash_hex;
};

// Makes the new node directory `store_dir` (which must not exist, or be empty) for the
// store in the database at `uri`, with a copy of its store key from `store_key_file`.
// Nothing is written when the database holds no initialised store, or when the key does
// not open the store's sealed keys.
Result<JoinedNode> join_cluster(const std::string& uri, const std::string& store_key_file, const std::string& store_dir);

// How a process names itself in the scheduler election (and in the leader row):
// "HOST:DIR (pid N)".
std::string node_name(const std::string& store_dir);

}  // namespace certsched::adapters
