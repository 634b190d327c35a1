#include "eventstore/postgres_schema.h"

#include <string>
#include <vector>

namespace certsched::eventstore::internal {
namespace {

// Migration i takes the schema from version i to i + 1. Never edit one that has shipped:
// add the next.
const std::vector<std::string>& migrations() {
  static const std::vector<std::string> all = {
      // 0 -> 1: the log, its head, command results, sealed keys and the scheduler's epoch.
      R"sql(
      CREATE TABLE certsched.head (
        id integer PRIMARY KEY CHECK (id = 1),
        position bigint NOT NULL,
        hash bytea NOT NULL);
      INSERT INTO certsched.head VALUES (1, 0, decode(repeat('00', 32), 'hex'));
      -- One row per run (the events one append wrote to one stream). `value` is the framed
      -- record then its chain hash, byte for byte what the embedded store keeps; `stream` and
      -- `last_version` only index it.
      CREATE TABLE certsched.log (
        position bigint PRIMARY KEY,
        stream text NOT NULL,
        last_version bigint NOT NULL,
        value bytea NOT NULL);
      CREATE UNIQUE INDEX log_stream_version ON certsched.log (stream, last_version);
      CREATE TABLE certsched.commands (
        command_id text PRIMARY KEY,
        result bytea NOT NULL);
      CREATE TABLE certsched.sealed_keys (
        fingerprint text PRIMARY KEY,
        sealed bytea NOT NULL);
      CREATE TABLE certsched.leader (
        id integer PRIMARY KEY CHECK (id = 1),
        epoch bigint NOT NULL,
        node text NOT NULL,
        since timestamptz);
      INSERT INTO certsched.leader VALUES (1, 0, '', NULL);
      -- A group of appends (one or more commands, each its own runs) in one round trip: the
      -- runs come framed and chained on the head the node last saw (p_position, p_hash).
      -- Answered 'duplicate' with the first results of command ids already applied (one row
      -- each), 'fenced' when a command carries a leader epoch other than the current one,
      -- 'stale' when the head has moved since (the node reads it again and re-frames), and
      -- 'appended' once every run, command and the new head are written.
      CREATE FUNCTION certsched.append(
          p_position bigint, p_hash bytea, p_epochs bigint[], p_command_ids text[], p_results bytea[],
          p_new_position bigint, p_new_hash bytea,
          p_positions bigint[], p_streams text[], p_last_versions bigint[], p_values bytea[])
        RETURNS TABLE (outcome text, command_id text, detail bytea, store_epoch bigint) LANGUAGE plpgsql AS $fn$
      DECLARE
        head_position bigint;
        head_hash bytea;
        leader_epoch bigint;
      BEGIN
        -- Appends from every node queue here until this transaction ends.
        SELECT h.position, h.hash INTO head_position, head_hash FROM certsched.head h WHERE h.id = 1 FOR UPDATE;
        -- Read after the lock, in a statement (and snapshot) of its own: a takeover raises the
        -- epoch under the same lock, and a join read in the locking statement could see the
        -- epoch from before it.
        SELECT l.epoch INTO leader_epoch FROM certsched.leader l WHERE l.id = 1;
        RETURN QUERY SELECT 'duplicate'::text, c.command_id, c.result, leader_epoch
          FROM certsched.commands c WHERE c.command_id = ANY(p_command_ids);
        IF FOUND THEN
          RETURN;
        END IF;
        IF EXISTS (SELECT 1 FROM unnest(p_epochs) e WHERE e <> 0 AND e <> leader_epoch) THEN
          RETURN QUERY SELECT 'fenced'::text, NULL::text, NULL::bytea, leader_epoch;
          RETURN;
        END IF;
        IF head_position <> p_position OR head_hash <> p_hash THEN
          RETURN QUERY SELECT 'stale'::text, NULL::text, NULL::bytea, leader_epoch;
          RETURN;
        END IF;
        INSERT INTO certsched.log (position, stream, last_version, value)
          SELECT * FROM unnest(p_positions, p_streams, p_last_versions, p_values);
        INSERT INTO certsched.commands SELECT * FROM unnest(p_command_ids, p_results);
        UPDATE certsched.head SET position = p_new_position, hash = p_new_hash WHERE id = 1;
        PERFORM pg_notify('certsched_log', '');
        RETURN QUERY SELECT 'appended'::text, NULL::text, NULL::bytea, leader_epoch;
      END
      $fn$;
      )sql",
      // 1 -> 2: the leader epoch moves into the head row, so that an append checks the head
      // and the epoch, and moves the head, in one UPDATE: a takeover updates the same row, so
      // an append waiting on it sees the new epoch. The append runs four statements instead
      // of nine (docs/benchmarks.md, figure 10). A command id already applied is found by
      // the commands table's key: the append fails with a unique violation, and the node
      // looks the first results up.
      R"sql(
      ALTER TABLE certsched.head ADD COLUMN epoch bigint NOT NULL DEFAULT 0;
      UPDATE certsched.head SET epoch = (SELECT l.epoch FROM certsched.leader l WHERE l.id = 1);
      -- A node of version 1 still running cannot take over on this database: its election
      -- fails on the missing column and says so, rather than raise an epoch nobody checks.
      ALTER TABLE certsched.leader DROP COLUMN epoch;
      CREATE OR REPLACE FUNCTION certsched.append(
          p_position bigint, p_hash bytea, p_epochs bigint[], p_command_ids text[], p_results bytea[],
          p_new_position bigint, p_new_hash bytea,
          p_positions bigint[], p_streams text[], p_last_versions bigint[], p_values bytea[])
        RETURNS TABLE (outcome text, command_id text, detail bytea, store_epoch bigint) LANGUAGE plpgsql AS $fn$
      DECLARE
        head_epoch bigint;
        at_head boolean;
      BEGIN
        -- Appends from every node queue on this row until this transaction ends; one that
        -- waited is checked again against the row as the other left it (epoch included).
        UPDATE certsched.head h SET position = p_new_position, hash = p_new_hash
          WHERE h.id = 1 AND h.position = p_position AND h.hash = p_hash
            AND h.epoch = ALL(array_remove(p_epochs, 0::bigint))
          RETURNING h.epoch INTO head_epoch;
        IF NOT FOUND THEN
          SELECT h.epoch, h.position = p_position AND h.hash = p_hash INTO head_epoch, at_head
            FROM certsched.head h WHERE h.id = 1;
          RETURN QUERY SELECT 'duplicate'::text, c.command_id, c.result, head_epoch
            FROM certsched.commands c WHERE c.command_id = ANY(p_command_ids);
          IF FOUND THEN
            RETURN;
          END IF;
          RETURN QUERY SELECT CASE WHEN at_head THEN 'fenced' ELSE 'stale' END, NULL::text, NULL::bytea, head_epoch;
          RETURN;
        END IF;
        -- A command id applied before violates the commands key here, and nothing is written.
        WITH commands AS (INSERT INTO certsched.commands SELECT * FROM unnest(p_command_ids, p_results))
        INSERT INTO certsched.log (position, stream, last_version, value)
          SELECT * FROM unnest(p_positions, p_streams, p_last_versions, p_values);
        RETURN QUERY SELECT 'appended'::text, NULL::text, NULL::bytea, head_epoch FROM pg_notify('certsched_log', '');
      END
      $fn$;
      )sql",
      // 2 -> 3: the append becomes one statement that the node sends (postgres_append.cc),
      // and a command's id and first results move into the row of its first run: a lone
      // append writes the head and one row, not the head and two rows, and without
      // plpgsql's cost per call (docs/benchmarks.md, figure 10). A result begins with the
      // command's first position (a big-endian u64). The function goes, so that a node of
      // version 2 still running fails its appends and says so.
      R"sql(
      -- Nothing of certsched reads a stream from the database: each node's projections are
      -- fed by position, and a node keeps the streams' versions it frames on. Versions stay
      -- unique without it (an append moves the head row it framed on, and `verify` checks
      -- that each stream's versions follow on), and it cost every append 3% (figure 10). A
      -- read by stream (EventStore::read_stream) scans the log.
      DROP INDEX certsched.log_stream_version;
      -- Ids compare byte by byte ("C"): cheaper than the database's collation in each index
      -- step, and what the embedded store does. (The stream index goes first: nothing is
      -- rebuilt for the new collation.)
      ALTER TABLE certsched.log ADD COLUMN command_id text COLLATE "C", ADD COLUMN result bytea,
        ALTER COLUMN stream TYPE text COLLATE "C";
      UPDATE certsched.log l SET command_id = c.command_id, result = c.result FROM certsched.commands c
        WHERE l.position = ('x' || encode(substring(c.result FROM 1 FOR 8), 'hex'))::bit(64)::bigint;
      DO $check$ BEGIN
        IF (SELECT count(*) FROM certsched.log WHERE command_id IS NOT NULL) <> (SELECT count(*) FROM certsched.commands) THEN
          RAISE EXCEPTION 'a command of certsched.commands has no first run in certsched.log; nothing was migrated';
        END IF;
      END $check$;
      CREATE UNIQUE INDEX log_command_id ON certsched.log (command_id) WHERE command_id IS NOT NULL;
      DROP TABLE certsched.commands;
      DROP FUNCTION certsched.append(bigint, bytea, bigint[], text[], bytea[], bigint, bytea,
                                     bigint[], text[], bigint[], bytea[]);
      )sql",
  };
  return all;
}

// Two nodes initialising one database at once take turns.
constexpr const char* kSchemaLock = "SELECT pg_advisory_xact_lock(7405110911)";

Result<int> stored_version(PgConnection& c) {
  CERTSCHED_ASSIGN_OR_RETURN(auto exists, c.run("SELECT to_regclass('certsched.schema_version') IS NOT NULL"));
  if (exists.size() != 1 || exists.bytes(0, 0) != std::string_view("\1", 1)) return -1;
  CERTSCHED_ASSIGN_OR_RETURN(auto rows, c.run("SELECT version FROM certsched.schema_version"));
  if (rows.size() != 1) return Status::Corruption("certsched.schema_version does not hold one row");
  return rows.integer(0, 0);
}

Status check_known(int version, const std::string& uri) {
  if (version > kPgSchemaVersion) {
    return Status::Corruption("the database at " + uri + " has certsched schema version " + std::to_string(version) +
                              "; this certsched knows versions up to " + std::to_string(kPgSchemaVersion) +
                              " (upgrade certsched on this node)");
  }
  return Status::Ok();
}

}  // namespace

Status prepare_pg_schema(PgConnection& c, SchemaAction action, int target_version) {
  CERTSCHED_ASSIGN_OR_RETURN(const int found, stored_version(c));
  // `init` creates a schema where there is none, and only checks one that is there: an init
  // refused for a database that holds a store must not migrate it on the way.
  if (found >= 0 || action != SchemaAction::kCreate) {
    if (found < 0) {
      return Status::NotFound("the database at " + c.uri() +
                              " holds no certsched store; run `certsched init --backend URI` on the first node");
    }
    CERTSCHED_RETURN_IF_ERROR(check_known(found, c.uri()));
    if (found == target_version) return Status::Ok();
    if (action != SchemaAction::kMigrate) {
      return Status::Corruption("the database at " + c.uri() + " has certsched schema version " +
                                std::to_string(found) + "; any writing command of this certsched (or its serve) "
                                "migrates it to " + std::to_string(target_version));
    }
  }
  CERTSCHED_RETURN_IF_ERROR(c.script("BEGIN"));
  auto migrate = [&]() -> Status {
    CERTSCHED_RETURN_IF_ERROR(c.script(kSchemaLock));
    CERTSCHED_RETURN_IF_ERROR(c.script("CREATE SCHEMA IF NOT EXISTS certsched"));
    CERTSCHED_ASSIGN_OR_RETURN(int version, stored_version(c));
    if (version < 0) {
      CERTSCHED_RETURN_IF_ERROR(c.script("CREATE TABLE certsched.schema_version (version integer NOT NULL);"
                                         "INSERT INTO certsched.schema_version VALUES (0)"));
      version = 0;
    }
    CERTSCHED_RETURN_IF_ERROR(check_known(version, c.uri()));
    for (; version < target_version; ++version) {
      CERTSCHED_RETURN_IF_ERROR(c.script(migrations()[version]));
      CERTSCHED_RETURN_IF_ERROR(c.script("UPDATE certsched.schema_version SET version = " + std::to_string(version + 1)));
    }
    return c.script("COMMIT");
  };
  Status st = migrate();
  if (!st.ok()) (void)c.script("ROLLBACK");
  return st;
}

}  // namespace certsched::eventstore::internal
