// The EventStore conformance suites run on both backends: a test takes a Backend parameter
// and a StoreDir, whose node directory names a fresh PostgreSQL database for the clustered
// backend (open_store() then opens that), and is empty for the embedded one.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "eventstore/event_store.h"
#include "tests/servers.h"
#include "tests/test_support.h"

namespace certsched::testing {

enum class Backend { kEmbedded, kPostgres };

inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kEmbedded ? "RocksDB" : "PostgreSQL";
}

class StoreDir {
 public:
  explicit StoreDir(Backend backend) : backend_(backend) {
    if (backend == Backend::kPostgres) {
      uri_ = fresh_postgres_database();
      if (!eventstore::write_backend_uri(dir_.path(), uri_).ok()) throw std::runtime_error("cannot write backend");
    }
  }
  const std::string& path() const { return dir_.path(); }
  Backend backend() const { return backend_; }
  const std::string& uri() const { return uri_; }  // empty for the embedded backend
  // The database's name (the URI's last part).
  std::string database() const { return uri_.substr(uri_.rfind('/') + 1); }

 private:
  TempDir dir_;
  Backend backend_;
  std::string uri_;
};

#define CERTSCHED_ON_BOTH_BACKENDS(suite)                                                       \
  INSTANTIATE_TEST_SUITE_P(Backends, suite,                                                      \
                           ::testing::Values(::certsched::testing::Backend::kEmbedded,           \
                                             ::certsched::testing::Backend::kPostgres),          \
                           ::certsched::testing::backend_name)

}  // namespace certsched::testing
