// Status and Result<T>: how every module boundary reports success or a named failure.
// No exception crosses a module boundary; callers must look at the result ([[nodiscard]]).
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace certsched {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk,
    kInvalidArgument,  // the caller's input is wrong; nothing was changed
    kNotFound,         // a named thing does not exist; nothing was changed
    kConflict,         // expected version, transition or rule refused; nothing was changed
    kBusy,             // another process holds the store for writing
    kCorruption,       // the store is damaged or altered
    kIOError,          // the file system or RocksDB failed
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
  static Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status Conflict(std::string m) { return Status(Code::kConflict, std::move(m)); }
  static Status Busy(std::string m) { return Status(Code::kBusy, std::move(m)); }
  static Status Corruption(std::string m) { return Status(Code::kCorruption, std::move(m)); }
  static Status IOError(std::string m) { return Status(Code::kIOError, std::move(m)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsConflict() const { return code_ == Code::kConflict; }
  bool IsBusy() const { return code_ == Code::kBusy; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsIOError() const { return code_ == Code::kIOError; }

  // A stable, machine-readable name for the code (used in JSON errors).
  const char* code_name() const;
  std::string ToString() const;

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

namespace internal {
// Ends the process with `status` on stderr: reading the value of a failed Result is a
// programming error, and release builds must not go on with garbage.
[[noreturn]] void die_reading_value_of(const Status& status);
}  // namespace internal

// Either a value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  // An ok Status carries no value: passing one is a programming error, caught at once.
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) internal::die_reading_value_of(Status::Corruption("a Result was made from an ok Status"));
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  // REQUIRES: ok(). Checked in every build: a failed Result's value ends the process.
  T& value() & { check(); return *value_; }
  const T& value() const& { check(); return *value_; }
  // By value, not T&&: `for (auto& x : f().value())` must not dangle when f() returns a temporary.
  T value() && { check(); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  void check() const {
    if (!status_.ok()) internal::die_reading_value_of(status_);
  }
  Status status_;
  std::optional<T> value_;
};

}  // namespace certsched

// Returns the Status of `expr` from the enclosing function when it is not ok.
#define CERTSCHED_RETURN_IF_ERROR(expr)        \
  do {                                         \
    ::certsched::Status _st = (expr);          \
    if (!_st.ok()) return _st;                 \
  } while (0)

// `CERTSCHED_ASSIGN_OR_RETURN(auto x, f());` declares x as f()'s value, or returns f()'s
// Status from the enclosing function (which returns a Status or any Result).
#define CERTSCHED_ASSIGN_OR_RETURN(lhs, expr) \
  CERTSCHED_ASSIGN_OR_RETURN_IMPL(CERTSCHED_STATUS_CONCAT(_certsched_result_, __LINE__), lhs, expr)
#define CERTSCHED_ASSIGN_OR_RETURN_IMPL(result, lhs, expr) \
  auto result = (expr);                                      \
  if (!result.ok()) return result.status();                  \
  lhs = std::move(result).value()
#define CERTSCHED_STATUS_CONCAT(a, b) CERTSCHED_STATUS_CONCAT_INNER(a, b)
#define CERTSCHED_STATUS_CONCAT_INNER(a, b) a##b
