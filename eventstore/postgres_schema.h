// The clustered log's tables in PostgreSQL (docs/clustered-stores.md), their version, and
// the migrations that bring an older database to it. Internal to eventstore/.
#pragma once

#ifndef CERTSCHED_INTERNAL_EVENTSTORE
#error "eventstore/postgres_schema.h is internal to eventstore/ (tests may look inside)"
#endif

#include "eventstore/postgres_connection.h"

namespace certsched::eventstore::internal {

inline constexpr int kPgSchemaVersion = 1;

// Creates the schema or migrates it to kPgSchemaVersion (`create`), or only checks it.
// Refuses a database with no certsched schema (unless creating) or with a version this
// certsched does not know, writing nothing.
Status prepare_pg_schema(PgConnection& c, bool create);

}  // namespace certsched::eventstore::internal
