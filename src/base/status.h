// Status: the outcome of an operation, as a value. Errors carry a code a caller can act
// on (retry, report "not found", fail over to a replica...) and a human message.
//
// Thread-safety: a Status is an immutable value; copies may be used from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace cstor {

enum class Code : unsigned char {
  kOk = 0,
  kInvalidArgument,     // the caller asked for something malformed; do not retry
  kNotFound,            // the named object does not exist
  kAlreadyExists,       // the name is taken
  kFailedPrecondition,  // the object is not in a state that allows this (e.g. busy)
  kOutOfRange,          // offset or length beyond the end
  kNoSpace,             // the pool has no free space for this write
  kReadOnly,            // the pool or volume refuses writes (threshold, fenced)
  kCorruption,          // stored data failed its checksum; a peer may hold a good copy
  kIoError,             // the operating system or device failed the operation
  kUnavailable,         // transient: try again later or elsewhere
  kAborted,             // interrupted by shutdown or a concurrent change
  kProtocol,            // a peer sent something that violates the protocol
  kInternal,            // a bug: an invariant did not hold
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() noexcept = default;  // OK
  Status(Code code, std::string message);

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string msg) { return {Code::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {Code::kAlreadyExists, std::move(msg)}; }
  static Status FailedPrecondition(std::string msg) {
    return {Code::kFailedPrecondition, std::move(msg)};
  }
  static Status OutOfRange(std::string msg) { return {Code::kOutOfRange, std::move(msg)}; }
  static Status NoSpace(std::string msg) { return {Code::kNoSpace, std::move(msg)}; }
  static Status ReadOnly(std::string msg) { return {Code::kReadOnly, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status IoError(std::string msg) { return {Code::kIoError, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }
  static Status Aborted(std::string msg) { return {Code::kAborted, std::move(msg)}; }
  static Status Protocol(std::string msg) { return {Code::kProtocol, std::move(msg)}; }
  static Status Internal(std::string msg) { return {Code::kInternal, std::move(msg)}; }
  // An IoError describing errno `err` for `what` (e.g. "write /pool/dev0").
  static Status FromErrno(int err, std::string_view what);

  bool ok() const { return state_ == nullptr; }
  Code code() const { return state_ ? state_->code : Code::kOk; }
  const std::string& message() const;
  bool Is(Code c) const { return code() == c; }

  // "NotFound: volume vol1 does not exist"
  std::string ToString() const;
  // The same error with "context: " in front of its message.
  Status WithContext(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct State {
    Code code;
    std::string message;
  };
  std::shared_ptr<const State> state_;
};

}  // namespace cstor

// Propagates a non-OK Status out of the enclosing function.
#define CSTOR_RETURN_IF_ERROR(expr)                  \
  do {                                               \
    ::cstor::Status cstor_status_ = (expr);          \
    if (!cstor_status_.ok()) return cstor_status_;   \
  } while (0)

#define CSTOR_CONCAT_INNER_(a, b) a##b
#define CSTOR_CONCAT_(a, b) CSTOR_CONCAT_INNER_(a, b)

// `CSTOR_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a Result, or returns its error.
#define CSTOR_ASSIGN_OR_RETURN(lhs, expr) \
  CSTOR_ASSIGN_OR_RETURN_IMPL_(CSTOR_CONCAT_(cstor_result_, __LINE__), lhs, expr)
#define CSTOR_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
