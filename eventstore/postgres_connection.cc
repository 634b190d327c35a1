#include "eventstore/postgres_connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include "base/byte_io.h"

namespace certsched::eventstore::internal {

PgParam PgParam::bigint(int64_t v) { return {base::encode_u64(static_cast<uint64_t>(v))}; }

// The binary form of an array (array_send in PostgreSQL's arrayfuncs.c): dimensions, a
// has-nulls flag, the element type, each dimension's length and lower bound, then each
// element's length and bytes.
PgParam PgParam::array(PgType type, const std::vector<std::string_view>& elements) {
  std::string out;
  base::put_u32(out, 1);
  base::put_u32(out, 0);
  base::put_u32(out, static_cast<uint32_t>(type));
  base::put_u32(out, static_cast<uint32_t>(elements.size()));
  base::put_u32(out, 1);
  for (std::string_view e : elements) {
    base::put_u32(out, static_cast<uint32_t>(e.size()));
    out.append(e);
  }
  return {std::move(out)};
}

PgRows::PgRows(pg_result* r) : r_(r) {}
PgRows::~PgRows() {
  if (r_) PQclear(r_);
}
PgRows& PgRows::operator=(PgRows&& o) noexcept {
  if (this != &o) {
    if (r_) PQclear(r_);
    r_ = o.r_;
    o.r_ = nullptr;
  }
  return *this;
}
int PgRows::size() const { return r_ ? PQntuples(r_) : 0; }
bool PgRows::null(int row, int col) const { return PQgetisnull(r_, row, col); }
std::string_view PgRows::bytes(int row, int col) const {
  return {PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col))};
}
int64_t PgRows::bigint(int row, int col) const {
  const std::string_view b = bytes(row, col);
  return b.size() == 8 ? static_cast<int64_t>(base::load_u64(b.data())) : 0;
}
int32_t PgRows::integer(int row, int col) const {
  const std::string_view b = bytes(row, col);
  return b.size() == 4 ? static_cast<int32_t>(base::load_u32(b.data())) : 0;
}

namespace {

// libpq's messages end with a newline and may span lines; one line reads better in a Status.
std::string one_line(const char* message) {
  // Each line break, and the indent of the line after it ("\n\tIs the server running..."),
  // becomes one space.
  std::string m;
  bool in_break = false;
  for (const char* c = message ? message : ""; *c; ++c) {
    const bool breaks = *c == '\n' || (in_break && (*c == '\t' || *c == ' '));
    if (breaks && !in_break && !m.empty()) m += ' ';
    if (!breaks) m += *c;
    in_break = breaks;
  }
  while (!m.empty() && m.back() == ' ') m.pop_back();
  return m;
}

Status password_refused(const std::string& uri) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(uri.c_str(), &error);
  if (!options) {
    Status st = Status::InvalidArgument("the PostgreSQL URI is malformed: " + one_line(error));
    PQfreemem(error);
    return st;
  }
  bool has_password = false;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val && *o->val) has_password = true;
  }
  PQconninfoFree(options);
  if (has_password) {
    return Status::InvalidArgument(
        "the PostgreSQL URI carries a password, which certsched would have to keep in its store "
        "directory; leave it out and give it through ~/.pgpass, PGPASSFILE or PGPASSWORD");
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<PgConnection>> PgConnection::connect(const std::string& uri) {
  CERTSCHED_RETURN_IF_ERROR(password_refused(uri));
  pg_conn* c = PQconnectdb(uri.c_str());
  if (!c) return Status::IOError("cannot allocate a PostgreSQL connection");
  if (PQstatus(c) != CONNECTION_OK) {
    Status st = Status::IOError("cannot connect to PostgreSQL at " + uri + ": " + one_line(PQerrorMessage(c)));
    PQfinish(c);
    return st;
  }
  // The server's notices ("schema already exists, skipping") are not for certsched's
  // users; libpq would print them on stderr.
  PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(c, uri));
}

PgConnection::~PgConnection() { PQfinish(c_); }

bool PgConnection::healthy() const { return PQstatus(c_) == CONNECTION_OK; }
bool PgConnection::idle() const { return PQtransactionStatus(c_) == PQTRANS_IDLE; }

Result<PgRows> PgConnection::run(const std::string& sql, const std::vector<PgParam>& params) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  for (const PgParam& p : params) {
    formats.push_back(1);
    values.push_back(p.bytes.data());
    lengths.push_back(static_cast<int>(p.bytes.size()));
  }
  // Each statement is prepared once per connection: the server parses and plans it once.
  auto statement = prepared_.find(sql);
  if (statement == prepared_.end()) {
    const std::string name = "certsched_" + std::to_string(prepared_.size() + 1);
    pg_result* prepared = PQprepare(c_, name.c_str(), sql.c_str(), static_cast<int>(params.size()), nullptr);
    CERTSCHED_RETURN_IF_ERROR(checked(prepared));
    PQclear(prepared);
    statement = prepared_.emplace(sql, name).first;
  }
  pg_result* r = PQexecPrepared(c_, statement->second.c_str(), static_cast<int>(params.size()), values.data(),
                                lengths.data(), formats.data(), /*resultFormat=*/1);
  CERTSCHED_RETURN_IF_ERROR(checked(r));
  return PgRows(r);
}

Status PgConnection::script(const std::string& sql) {
  pg_result* r = PQexec(c_, sql.c_str());
  CERTSCHED_RETURN_IF_ERROR(checked(r));
  PQclear(r);
  return Status::Ok();
}

Status PgConnection::checked(pg_result* r) {
  const ExecStatusType status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  violated_constraint_.clear();
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return Status::Ok();
  const char* constraint = r ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : nullptr;
  if (constraint) violated_constraint_ = constraint;
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = state ? state : "";
  const std::string message = one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(c_));
  if (r) PQclear(r);
  const std::string text = "PostgreSQL: " + (message.empty() ? one_line(PQerrorMessage(c_)) : message) +
                           (sqlstate.empty() ? "" : " (SQLSTATE " + sqlstate + ")");
  if (sqlstate == "40001" || sqlstate == "40P01") return Status::Conflict(text);
  if (sqlstate.rfind("22", 0) == 0) return Status::InvalidArgument(text);  // data this database cannot hold
  if (sqlstate.rfind("23", 0) == 0) return Status::Conflict(text);         // a key already taken
  if (sqlstate.rfind("42", 0) == 0) return Status::Corruption(text);       // tables not as certsched made them
  return Status::IOError(text);
}

Result<bool> PgConnection::wait_for_notification(int timeout_ms) {
  pollfd p{PQsocket(c_), POLLIN, 0};
  if (p.fd < 0) return Status::IOError("the PostgreSQL connection is closed");
  if (poll(&p, 1, timeout_ms) < 0) return Status::IOError("waiting for a PostgreSQL notification failed");
  if (!PQconsumeInput(c_)) {
    return Status::IOError("the PostgreSQL connection failed: " + one_line(PQerrorMessage(c_)));
  }
  bool any = false;
  while (PGnotify* n = PQnotifies(c_)) {
    any = true;
    PQfreemem(n);
  }
  return any;
}

}  // namespace certsched::eventstore::internal
