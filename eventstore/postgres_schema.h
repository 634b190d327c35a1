// The clustered log's tables in PostgreSQL (docs/clustered-stores.md), their version, and
// the migrations that bring an older database to it. Internal to eventstore/.
#pragma once

#ifndef CERTSCHED_INTERNAL_EVENTSTORE
#error "eventstore/postgres_schema.h is internal to eventstore/ (tests may look inside)"
#endif

#include "eventstore/postgres_connection.h"

namespace certsched::eventstore::internal {

inline constexpr int kPgSchemaVersion = 3;

enum class SchemaAction {
  kCheck,    // readers: the schema must be at the version
  kMigrate,  // writers: an older schema is migrated
  kCreate,   // init: a database with no schema gets one; one that has a schema is checked
};

// Checks, migrates or creates the schema, as `action` says, to `target_version` (tests
// make older schemas to migrate). Refuses a database with no certsched schema (unless
// creating) or with a version this certsched does not know, writing nothing. Migrations
// run in one transaction, under a lock that nodes opening at once take in turn.
Status prepare_pg_schema(PgConnection& c, SchemaAction action, int target_version = kPgSchemaVersion);

}  // namespace certsched::eventstore::internal
