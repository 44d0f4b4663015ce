// Env: the one seam between cstor's logic and the operating system's files, clock and
// randomness. Production code uses Env::Default() (POSIX); tests use MemEnv, which can
// simulate a power cut, so the same engine code runs under fault injection.
//
// Thread-safety: Env and File methods may be called concurrently from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/status.h"

namespace cstor {

struct FileOptions {
  bool create = false;     // create the file if it does not exist
  bool exclusive = false;  // with create: fail with AlreadyExists if it exists
  bool read_only = false;
  bool direct_io = false;  // bypass the page cache; buffers, offsets and lengths must be
                           // aligned to kIoAlignment
};

// An open file (or block device) with positional IO.
class File {
 public:
  virtual ~File() = default;

  // Reads up to out.size() bytes at offset; returns the count (short only at end of file).
  virtual Result<size_t> Read(uint64_t offset, std::span<std::byte> out) = 0;
  // Writes all of data at offset, extending the file if needed.
  virtual Status Write(uint64_t offset, std::span<const std::byte> data) = 0;
  // Makes every completed Write (and the file's size) durable.
  virtual Status Sync() = 0;
  virtual Result<uint64_t> Size() = 0;
  virtual Status Truncate(uint64_t size) = 0;
  // Deallocates a range where the file system can (a hole); afterwards it reads as zeros.
  // The default writes zeros.
  virtual Status Discard(uint64_t offset, uint64_t length);

  // Reads exactly out.size() bytes or fails with IoError.
  Status ReadExact(uint64_t offset, std::span<std::byte> out);
  // Reads what can be read without waiting for the device (from the page cache, or holes):
  // answers how many bytes from the front of `out` it filled, possibly 0. The default
  // cannot tell and answers 0. For callers on an event loop that must not block.
  virtual size_t ReadCached(uint64_t offset, std::span<std::byte> out);
};

// Held while a lock file is locked; unlocking is destruction.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

struct FileInfo {
  bool exists = false;
  bool is_directory = false;
  bool is_block_device = false;
  uint64_t size = 0;
  uint64_t mtime_seconds = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  // The process-wide POSIX environment. Never destroyed.
  static Env* Default();

  virtual Result<std::unique_ptr<File>> OpenFile(const std::string& path,
                                                 const FileOptions& options) = 0;
  virtual Status DeleteFile(const std::string& path) = 0;
  // Atomically replaces `to` if it exists.
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // Creates one directory level; AlreadyExists if it is there.
  virtual Status CreateDir(const std::string& path) = 0;
  virtual Status DeleteDir(const std::string& path) = 0;
  // Names (not paths) of the entries of dir, without "." and "..".
  virtual Result<std::vector<std::string>> GetChildren(const std::string& dir) = 0;
  // A missing path is not an error: exists is false.
  virtual Result<FileInfo> Stat(const std::string& path) = 0;
  // Makes creations, renames and deletions in dir durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  // An exclusive advisory lock on path (created if missing). Busy if held elsewhere,
  // including by another open in this process.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;

  // Monotonic microseconds, for intervals and timeouts.
  virtual uint64_t NowMicros() = 0;
  // Microseconds since the Unix epoch, for timestamps shown to people.
  virtual uint64_t WallMicros() = 0;
  virtual void SleepForMicros(uint64_t micros) = 0;
  // A seed for a Random; truly random in production, reproducible in tests.
  virtual uint64_t NewRandomSeed() = 0;

  // Convenience: creates every missing level of path.
  Status CreateDirs(const std::string& path);
  // Convenience for small files (state, configuration): the whole contents, or NotFound.
  Result<std::string> ReadSmallFile(const std::string& path);
  // Replaces path with contents durably and atomically: a crash leaves the old or the new
  // contents, never a mix (written beside it, synced, renamed, directory synced).
  Status WriteSmallFileAtomically(const std::string& path, std::string_view contents);
};

// Joins path components with exactly one '/'.
std::string JoinPath(const std::string& a, const std::string& b);

}  // namespace cstor
