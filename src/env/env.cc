#include "env/env.h"

namespace cstor {

Status File::ReadExact(uint64_t offset, std::span<std::byte> out) {
  CSTOR_ASSIGN_OR_RETURN(size_t n, Read(offset, out));
  if (n != out.size()) {
    return Status::IoError("short read at offset " + std::to_string(offset) + ": wanted " +
                           std::to_string(out.size()) + " bytes, got " + std::to_string(n));
  }
  return Status::Ok();
}

Status Env::CreateDirs(const std::string& path) {
  if (path.empty()) return Status::Ok();
  CSTOR_ASSIGN_OR_RETURN(FileInfo info, Stat(path));
  if (info.exists) {
    return info.is_directory ? Status::Ok()
                             : Status::AlreadyExists(path + " exists and is not a directory");
  }
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    CSTOR_RETURN_IF_ERROR(CreateDirs(path.substr(0, slash)));
  }
  Status s = CreateDir(path);
  return s.Is(Code::kAlreadyExists) ? Status::Ok() : s;
}

std::string JoinPath(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  bool a_slash = a.back() == '/';
  bool b_slash = b.front() == '/';
  if (a_slash && b_slash) return a + b.substr(1);
  if (a_slash || b_slash) return a + b;
  return a + "/" + b;
}

}  // namespace cstor
