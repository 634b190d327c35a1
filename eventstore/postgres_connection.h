// One libpq connection, and what the PostgreSQL backend asks of it: statements with binary
// parameters and results, errors as Status. Internal to eventstore/.
#pragma once

#ifndef CERTSCHED_INTERNAL_EVENTSTORE
#error "eventstore/postgres_connection.h is internal to eventstore/ (tests may look inside)"
#endif

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"

struct pg_conn;
struct pg_result;

namespace certsched::eventstore::internal {

// The element types of array parameters, by their PostgreSQL type OIDs.
enum class PgType : uint32_t { kBytea = 17, kBigint = 20, kText = 25 };

// A parameter in binary form: the server takes its type from the statement (write `$1::bigint`).
struct PgParam {
  std::string bytes;
  static PgParam bigint(int64_t v);
  static PgParam bytes_of(std::string_view b) { return {std::string(b)}; }
  // A one-dimensional array of `type` (write `$1::bytea[]`), each element in its binary
  // form: as it is for bytea and text, 8 big-endian bytes for bigint (see bigint()).
  static PgParam array(PgType type, const std::vector<std::string_view>& elements);
  template <typename Strings>
  static PgParam array(PgType type, const Strings& elements) {
    return array(type, std::vector<std::string_view>(elements.begin(), elements.end()));
  }
};

// A statement's result rows, binary. Empty for a statement that returns none.
class PgRows {
 public:
  PgRows() = default;
  explicit PgRows(pg_result* r);
  ~PgRows();
  PgRows(PgRows&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  PgRows& operator=(PgRows&& o) noexcept;
  int size() const;
  bool null(int row, int col) const;
  std::string_view bytes(int row, int col) const;
  int64_t bigint(int row, int col) const;  // REQUIRES: an int8 column
  int32_t integer(int row, int col) const;  // REQUIRES: an int4 column

 private:
  pg_result* r_ = nullptr;
};

class PgConnection {
 public:
  // Connects with a libpq URI or key=value string. A failure names the server's answer,
  // never the password (libpq does not echo it).
  static Result<std::unique_ptr<PgConnection>> connect(const std::string& uri);
  ~PgConnection();

  // Runs one statement (prepared on this connection the first time: `sql` is a constant of
  // the caller's, never built from values). SQLSTATE classes map to Status: 40001/40P01 (serialization,
  // deadlock) and 23 (a key taken) to Conflict, 22 (data) to InvalidArgument, 42 (no such
  // table) to Corruption; the rest, connection failures first, to IOError naming the
  // server's message.
  Result<PgRows> run(const std::string& sql, const std::vector<PgParam>& params = {});
  // Runs several statements in text mode, with no parameters and no rows wanted.
  Status script(const std::string& sql);
  // The connection is usable (it has not failed or been closed by the server).
  bool healthy() const;
  // No transaction is open on it (none was left behind by a failed statement).
  bool idle() const;
  // LISTEN must have been run on it: waits up to `timeout_ms` for a notification, then
  // drains every one pending. True if at least one came. Errors mean the connection failed.
  Result<bool> wait_for_notification(int timeout_ms);
  const std::string& uri() const { return uri_; }
  // The constraint the last failed statement violated ("log_command_id"); empty when the
  // last statement succeeded or failed otherwise.
  const std::string& violated_constraint() const { return violated_constraint_; }

 private:
  PgConnection(pg_conn* c, std::string uri) : c_(c), uri_(std::move(uri)) {}
  // Ok for a result that succeeded; otherwise frees it and says why.
  Status checked(pg_result* r);
  pg_conn* c_;
  std::string uri_;
  std::unordered_map<std::string, std::string> prepared_;  // statement -> its name here
  std::string violated_constraint_;
};

}  // namespace certsched::eventstore::internal
