#include "base/status.h"

#include <cstring>

namespace cstor {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "InvalidArgument";
    case Code::kNotFound: return "NotFound";
    case Code::kAlreadyExists: return "AlreadyExists";
    case Code::kFailedPrecondition: return "FailedPrecondition";
    case Code::kOutOfRange: return "OutOfRange";
    case Code::kNoSpace: return "NoSpace";
    case Code::kReadOnly: return "ReadOnly";
    case Code::kCorruption: return "Corruption";
    case Code::kIoError: return "IoError";
    case Code::kUnavailable: return "Unavailable";
    case Code::kAborted: return "Aborted";
    case Code::kProtocol: return "Protocol";
    case Code::kInternal: return "Internal";
  }
  return "Unknown";
}

Status::Status(Code code, std::string message)
    : state_(code == Code::kOk ? nullptr
                               : std::make_shared<const State>(State{code, std::move(message)})) {}

Status Status::FromErrno(int err, std::string_view what) {
  Code code = Code::kIoError;
  if (err == ENOENT) code = Code::kNotFound;
  if (err == ENOSPC) code = Code::kNoSpace;
  if (err == EEXIST) code = Code::kAlreadyExists;
  if (err == EROFS) code = Code::kReadOnly;
  return Status(code, std::string(what) + ": " + std::strerror(err));
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return state_ ? state_->message : kEmpty;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code())) + ": " + message();
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  return Status(code(), std::string(context) + ": " + message());
}

}  // namespace cstor
