// What only the clustered store has: its tables can be altered by anyone with database
// access (verify names the first altered, removed or reordered row), it refuses databases
// it does not know, and an auditor reads it with a read-only role.
#include <gtest/gtest.h>

#include "base/byte_io.h"
#include "eventstore/append_checks.h"
#include "eventstore/append_framing.h"
#include "eventstore/event_store.h"
#include "eventstore/postgres_schema.h"
#include "tests/store_backends.h"
#include "tests/test_support.h"

namespace certsched::eventstore {
namespace {

using testing::one_event;
using testing::open_reader;
using testing::open_writer;
using testing::shared_postgres;
using testing::StoreDir;

// A store of ten appends (positions 1-10), closed.
class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = open_writer(dir_.path());
    for (int i = 1; i <= 10; ++i) {
      ASSERT_TRUE(store->append(one_event("s" + std::to_string(i % 3), ExpectedVersion::Any(), "c" + std::to_string(i))).ok());
    }
    head_ = store->head().value();
  }
  std::string sql(const std::string& statement) { return shared_postgres().psql(dir_.database(), statement); }
  VerifyReport verified() { return open_reader(dir_.path())->verify().value(); }

  StoreDir dir_{testing::Backend::kPostgres};
  Head head_;
};

TEST_F(PostgresStoreTest, AnUntouchedLogVerifiesToItsHead) {
  const VerifyReport r = verified();
  EXPECT_TRUE(r.verified) << r.problem;
  EXPECT_EQ(r.events, 10u);
  EXPECT_EQ(r.head_hash_hex, head_.hash_hex);
}

TEST_F(PostgresStoreTest, AFlippedByteInARowIsNamedAtItsPosition) {
  sql("UPDATE certsched.log SET value = set_byte(value, 20, get_byte(value, 20) # 1) WHERE position = 4");
  const VerifyReport r = verified();
  EXPECT_FALSE(r.verified);
  EXPECT_EQ(r.first_bad_position, 4u) << r.problem;
  EXPECT_NE(r.problem.find("checksum"), std::string::npos) << r.problem;
}

TEST_F(PostgresStoreTest, ARemovedRowIsNamed) {
  sql("DELETE FROM certsched.log WHERE position = 6");
  const VerifyReport r = verified();
  EXPECT_FALSE(r.verified);
  EXPECT_EQ(r.first_bad_position, 6u);
  EXPECT_NE(r.problem.find("missing"), std::string::npos) << r.problem;
}

TEST_F(PostgresStoreTest, ReorderedRowsBreakTheChainAtTheFirst) {
  // Rows 3 and 5 swap their contents, each keeping the other's position.
  sql("UPDATE certsched.log SET position = -3 WHERE position = 3;"
      "UPDATE certsched.log SET position = 3 WHERE position = 5;"
      "UPDATE certsched.log SET position = 5 WHERE position = -3;");
  const VerifyReport r = verified();
  EXPECT_FALSE(r.verified);
  EXPECT_EQ(r.first_bad_position, 3u) << r.problem;
}

TEST_F(PostgresStoreTest, ATruncatedTailIsCaughtThroughTheHead) {
  sql("DELETE FROM certsched.log WHERE position >= 9");
  const VerifyReport r = verified();
  EXPECT_FALSE(r.verified);
  EXPECT_EQ(r.first_bad_position, 9u);
  EXPECT_NE(r.problem.find("removed from the tail"), std::string::npos) << r.problem;
}

TEST_F(PostgresStoreTest, AnIndexColumnThatLiesAboutItsRecordIsNamed) {
  sql("UPDATE certsched.log SET stream = 'other' WHERE position = 7");
  const VerifyReport r = verified();
  EXPECT_FALSE(r.verified);
  EXPECT_EQ(r.first_bad_position, 7u);
  EXPECT_NE(r.problem.find("stream columns"), std::string::npos) << r.problem;
}

// A node keeps every stream's version as it last saw the log, and reads only what was
// appended since. A database restored to an earlier point, which others have appended to
// up to the same position since, is a different log: the node reads it whole again.
TEST_F(PostgresStoreTest, AWriterAppendsOnTheLogAsItIsAfterTheDatabaseIsRestored) {
  auto node = open_writer(dir_.path());
  ASSERT_TRUE(node->append(one_event("x", ExpectedVersion::NoStream(), "x1")).ok());
  const std::string restore_point = sql("SELECT position || ' ' || encode(hash, 'hex') FROM certsched.head");
  ASSERT_TRUE(node->append(one_event("x", ExpectedVersion::Exactly(1), "x2")).ok());
  ASSERT_TRUE(node->append(one_event("x", ExpectedVersion::Exactly(2), "x3")).ok());
  const std::string hash = restore_point.substr(restore_point.find(' ') + 1, 64);
  sql("DELETE FROM certsched.log WHERE position > 11;"
      "UPDATE certsched.head SET position = 11, hash = decode('" + hash + "', 'hex')");
  StoreOptions o;
  auto other = open_postgres_store(dir_.uri(), "", o).value();
  ASSERT_TRUE(other->append(one_event("y", ExpectedVersion::Any(), "y1")).ok());
  ASSERT_TRUE(other->append(one_event("y", ExpectedVersion::Any(), "y2")).ok());  // at 13, as the node saw

  auto appended = node->append(one_event("x", ExpectedVersion::Exactly(1), "x2-again"));
  ASSERT_TRUE(appended.ok()) << appended.status().ToString();
  EXPECT_EQ(appended->first_position, 14u);
  EXPECT_EQ(appended->versions[0].version, 2u);
  EXPECT_TRUE(verified().verified);
}

TEST_F(PostgresStoreTest, ADatabaseOfAnotherSchemaVersionIsRefusedAndLeftAsItIs) {
  sql("UPDATE certsched.schema_version SET version = 99");
  StoreOptions options;
  options.create_if_missing = true;
  for (OpenMode mode : {OpenMode::kReadWrite, OpenMode::kReadOnly}) {
    options.mode = mode;
    auto opened = open_store(dir_.path(), options);
    ASSERT_FALSE(opened.ok());
    EXPECT_NE(opened.status().message().find("schema version 99"), std::string::npos) << opened.status().ToString();
    EXPECT_NE(opened.status().message().find("knows versions up to 3"), std::string::npos);
  }
  EXPECT_EQ(sql("SELECT position FROM certsched.head"), "10\n");
  EXPECT_EQ(sql("SELECT version FROM certsched.schema_version"), "99\n");
}

// A database of the first clustered certsched (schema version 1, the leader epoch in its
// own row) is migrated by the first node that opens it to write; readers wait for that.
TEST(PostgresSchemaTest, AVersion1DatabaseIsMigratedByAWriterWithItsLeaderEpoch) {
  StoreDir dir(testing::Backend::kPostgres);
  {
    auto c = internal::PgConnection::connect(dir.uri());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ASSERT_TRUE(internal::prepare_pg_schema(**c, internal::SchemaAction::kCreate, 1).ok());
  }
  auto sql = [&](const std::string& statement) { return shared_postgres().psql(dir.database(), statement); };
  sql("UPDATE certsched.leader SET epoch = 7");

  // Neither a reader nor `init` (which would refuse the database afterwards: it holds a
  // store) migrates it.
  StoreOptions options;
  options.mode = OpenMode::kReadOnly;
  auto reader = open_store(dir.path(), options);
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.status().message().find("schema version 1; any writing command"), std::string::npos)
      << reader.status().ToString();
  options.mode = OpenMode::kReadWrite;
  options.create_if_missing = true;
  auto init = open_store(dir.path(), options);
  ASSERT_FALSE(init.ok());
  EXPECT_NE(init.status().message().find("schema version 1"), std::string::npos) << init.status().ToString();
  EXPECT_EQ(sql("SELECT version FROM certsched.schema_version"), "1\n");

  options.create_if_missing = false;
  auto writer = open_store(dir.path(), options);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  EXPECT_EQ(sql("SELECT version FROM certsched.schema_version"), "3\n");
  EXPECT_EQ(sql("SELECT epoch FROM certsched.head"), "7\n");
  auto scheduler_append = [&](uint64_t epoch, const std::string& id) {
    AppendRequest r = one_event("schedule-S1", ExpectedVersion::Any(), id);
    r.leader_epoch = epoch;
    return (*writer)->append(r);
  };
  EXPECT_TRUE(scheduler_append(7, "run-1").ok());
  auto stale = scheduler_append(6, "run-2");
  EXPECT_TRUE(!stale.ok() && fenced(stale.status())) << stale.status().ToString();
  auto lease = (*writer)->elect_scheduler("node", [] {});
  ASSERT_TRUE(lease->leads());
  EXPECT_EQ(lease->epoch(), 8u);
  options.mode = OpenMode::kReadOnly;
  auto migrated = open_store(dir.path(), options);
  ASSERT_TRUE(migrated.ok()) << migrated.status().ToString();
  EXPECT_TRUE((*migrated)->verify().value().verified);
}

// Appends `r` (to streams it creates) as a node of schema version 2 did: framed as every
// version frames, then written by that version's certsched.append() function, which kept
// command results in a table of their own.
void append_as_version_2(internal::PgConnection& c, const AppendRequest& r, uint64_t* position, ChainHash* hash) {
  const uint64_t framed_position = *position;
  const ChainHash framed_hash = *hash;
  std::vector<std::string> positions, streams, last_versions, values;
  const AppendResult result = internal::frame_append(
      r, std::vector<uint64_t>(r.writes.size(), 0), position, hash, [&](const internal::FramedRun& run) {
        positions.push_back(base::encode_u64(run.header.first_position));
        streams.emplace_back(run.header.stream);
        last_versions.push_back(base::encode_u64(run.last_version));
        values.emplace_back(run.value);
      });
  auto bytes = [](const ChainHash& h) { return std::string(reinterpret_cast<const char*>(h.data()), h.size()); };
  using internal::PgParam;
  using internal::PgType;
  auto called = c.run(
      "SELECT outcome FROM certsched.append($1::bigint, $2::bytea, $3::bigint[], $4::text[], $5::bytea[], $6::bigint, "
      "$7::bytea, $8::bigint[], $9::text[], $10::bigint[], $11::bytea[])",
      {PgParam::bigint(static_cast<int64_t>(framed_position)), PgParam::bytes_of(bytes(framed_hash)),
       PgParam::array(PgType::kBigint, std::vector<std::string>{base::encode_u64(0)}),
       PgParam::array(PgType::kText, std::vector<std::string>{r.command_id}),
       PgParam::array(PgType::kBytea, std::vector<std::string>{internal::encode_append_result(result)}),
       PgParam::bigint(static_cast<int64_t>(*position)), PgParam::bytes_of(bytes(*hash)),
       PgParam::array(PgType::kBigint, positions), PgParam::array(PgType::kText, streams),
       PgParam::array(PgType::kBigint, last_versions), PgParam::array(PgType::kBytea, values)});
  ASSERT_TRUE(called.ok()) << called.status().ToString();
  ASSERT_EQ(called->bytes(0, 0), "appended");
}

// Version 3 keeps a command's id and first results in the row of its first run. A writer
// migrating a version 2 database moves them there: a command retried afterwards is
// answered with its first results, and nothing is written twice.
TEST(PostgresSchemaTest, AVersion2DatabaseIsMigratedWithTheFirstResultsOfItsCommands) {
  StoreDir dir(testing::Backend::kPostgres);
  auto sql = [&](const std::string& statement) { return shared_postgres().psql(dir.database(), statement); };
  // Two streams, so a run at 2 (two events) and one at 4.
  AppendRequest two_streams = testing::run_of("b", 2, "two-streams");
  two_streams.writes.push_back(testing::run_of("c", 1, "two-streams").writes[0]);
  {
    auto c = internal::PgConnection::connect(dir.uri());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ASSERT_TRUE(internal::prepare_pg_schema(**c, internal::SchemaAction::kCreate, 2).ok());
    uint64_t position = 0;
    ChainHash hash{};
    append_as_version_2(**c, one_event("a", ExpectedVersion::NoStream(), "first"), &position, &hash);
    append_as_version_2(**c, two_streams, &position, &hash);
  }
  StoreOptions options;
  auto writer = open_store(dir.path(), options);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  EXPECT_EQ(sql("SELECT version FROM certsched.schema_version"), "3\n");
  EXPECT_EQ(sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'certsched' AND tablename = 'commands'"), "0\n");
  EXPECT_EQ(sql("SELECT position, command_id FROM certsched.log WHERE command_id IS NOT NULL ORDER BY position"),
            "1|first\n2|two-streams\n");

  auto retried = (*writer)->append(two_streams);
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  EXPECT_TRUE(retried->duplicate);
  EXPECT_EQ(retried->first_position, 2u);
  EXPECT_EQ(retried->last_position, 4u);
  const AppendRequest later = one_event("a", ExpectedVersion::Exactly(1), "later");
  auto next = (*writer)->append(later);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->first_position, 5u);
  auto again = (*writer)->append(later);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->first_position, 5u);
  EXPECT_EQ(sql("SELECT count(*) FROM certsched.log"), "4\n");  // the runs at 1, 2, 4 and 5
  EXPECT_TRUE((*writer)->verify().value().verified);
}

TEST_F(PostgresStoreTest, AnAuditorReadsAndVerifiesWithARoleThatCannotWrite) {
  sql("CREATE ROLE auditor LOGIN; GRANT USAGE ON SCHEMA certsched TO auditor;"
      "GRANT SELECT ON ALL TABLES IN SCHEMA certsched TO auditor;");
  const std::string uri = "postgresql://auditor@127.0.0.1:" + std::to_string(shared_postgres().port()) + "/" +
                          dir_.database();
  StoreOptions options;
  options.mode = OpenMode::kReadOnly;
  auto reader = open_postgres_store(uri, "", options);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto report = (*reader)->verify();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->verified);
  EXPECT_EQ(report->head_hash_hex, head_.hash_hex);
  // The role itself cannot write, whatever a client asks.
  EXPECT_THROW(shared_postgres().psql(dir_.database(), "SET ROLE auditor; DELETE FROM certsched.log"),
               std::runtime_error);
}

TEST(PostgresUriTest, BadUnreachableOrPasswordCarryingUrisAreRefusedClearly) {
  testing::TempDir dir;
  StoreOptions options;
  options.create_if_missing = true;
  auto malformed = open_postgres_store("postgresql://[bad", dir.path(), options);
  EXPECT_EQ(malformed.status().code(), Status::Code::kInvalidArgument) << malformed.status().ToString();
  EXPECT_NE(malformed.status().message().find("malformed"), std::string::npos);

  const int closed = testing::free_port();
  auto unreachable = open_postgres_store("postgresql://postgres@127.0.0.1:" + std::to_string(closed) + "/x?connect_timeout=2",
                                         dir.path(), options);
  EXPECT_EQ(unreachable.status().code(), Status::Code::kIOError);
  EXPECT_NE(unreachable.status().message().find("cannot connect to PostgreSQL"), std::string::npos)
      << unreachable.status().ToString();

  auto with_password = open_postgres_store("postgresql://postgres:hunter2@127.0.0.1:5432/x", dir.path(), options);
  EXPECT_EQ(with_password.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(with_password.status().message().find("PGPASSFILE"), std::string::npos);
  EXPECT_EQ(with_password.status().message().find("hunter2"), std::string::npos);

  // A database without a certsched store, opened to read: said, and nothing created.
  const std::string empty = shared_postgres().create_database("empty_for_readers");
  options.mode = OpenMode::kReadOnly;
  auto none = open_postgres_store(empty, "", options);
  EXPECT_EQ(none.status().code(), Status::Code::kNotFound);
  EXPECT_NE(none.status().message().find("init --backend"), std::string::npos) << none.status().ToString();
  EXPECT_EQ(shared_postgres().psql("empty_for_readers", "SELECT count(*) FROM pg_namespace WHERE nspname = 'certsched'"),
            "0\n");
}

}  // namespace
}  // namespace certsched::eventstore
