#include "env/env.h"

#include <algorithm>
#include <vector>

namespace cstor {

Status File::ReadExact(uint64_t offset, std::span<std::byte> out) {
  CSTOR_ASSIGN_OR_RETURN(size_t n, Read(offset, out));
  if (n != out.size()) {
    return Status::IoError("short read at offset " + std::to_string(offset) + ": wanted " +
                           std::to_string(out.size()) + " bytes, got " + std::to_string(n));
  }
  return Status::Ok();
}

size_t File::ReadCached(uint64_t, std::span<std::byte>) { return 0; }

Status File::Discard(uint64_t offset, uint64_t length) {
  static const std::vector<std::byte> zeros(1 << 20);
  while (length > 0) {
    size_t n = std::min<uint64_t>(length, zeros.size());
    CSTOR_RETURN_IF_ERROR(Write(offset, std::span(zeros.data(), n)));
    offset += n;
    length -= n;
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

Result<std::string> Env::ReadSmallFile(const std::string& path) {
  CSTOR_ASSIGN_OR_RETURN(FileInfo info, Stat(path));
  if (!info.exists) return Status::NotFound(path + " does not exist");
  CSTOR_ASSIGN_OR_RETURN(auto file, OpenFile(path, {.read_only = true}));
  CSTOR_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  std::string out(size, '\0');
  CSTOR_RETURN_IF_ERROR(file->ReadExact(0, std::as_writable_bytes(std::span(out.data(), size))));
  return out;
}

Status Env::WriteSmallFileAtomically(const std::string& path, std::string_view contents) {
  std::string tmp = path + ".tmp";
  {
    CSTOR_ASSIGN_OR_RETURN(auto file, OpenFile(tmp, {.create = true}));
    CSTOR_RETURN_IF_ERROR(file->Truncate(0));
    CSTOR_RETURN_IF_ERROR(file->Write(0, std::as_bytes(std::span(contents.data(), contents.size()))));
    CSTOR_RETURN_IF_ERROR(file->Sync());
  }
  CSTOR_RETURN_IF_ERROR(RenameFile(tmp, path));
  size_t slash = path.find_last_of('/');
  return SyncDir(slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash)));
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
