#include "engine/rocksdb_fs.h"

#include <rocksdb/file_system.h>

#include <cstdarg>

#include "base/log.h"

namespace cstor::engine {
namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

IOStatus ToIO(const Status& s) {
  if (s.ok()) return IOStatus::OK();
  switch (s.code()) {
    case Code::kNotFound: return IOStatus::PathNotFound(s.message());
    case Code::kNoSpace: return IOStatus::NoSpace(s.message());
    case Code::kInvalidArgument: return IOStatus::InvalidArgument(s.message());
    case Code::kFailedPrecondition: return IOStatus::IOError("lock", s.message());
    default: return IOStatus::IOError(s.message());
  }
}

std::span<std::byte> Scratch(char* p, size_t n) {
  return {reinterpret_cast<std::byte*>(p), n};
}

class SequentialFile final : public rocksdb::FSSequentialFile {
 public:
  explicit SequentialFile(std::unique_ptr<File> f) : f_(std::move(f)) {}
  IOStatus Read(size_t n, const IOOptions&, Slice* result, char* scratch,
                IODebugContext*) override {
    auto got = f_->Read(pos_, Scratch(scratch, n));
    if (!got.ok()) return ToIO(got.status());
    pos_ += *got;
    *result = Slice(scratch, *got);
    return IOStatus::OK();
  }
  IOStatus Skip(uint64_t n) override {
    pos_ += n;
    return IOStatus::OK();
  }

 private:
  std::unique_ptr<File> f_;
  uint64_t pos_ = 0;
};

class RandomAccessFile final : public rocksdb::FSRandomAccessFile {
 public:
  explicit RandomAccessFile(std::unique_ptr<File> f) : f_(std::move(f)) {}
  IOStatus Read(uint64_t offset, size_t n, const IOOptions&, Slice* result, char* scratch,
                IODebugContext*) const override {
    auto got = f_->Read(offset, Scratch(scratch, n));
    if (!got.ok()) return ToIO(got.status());
    *result = Slice(scratch, *got);
    return IOStatus::OK();
  }

 private:
  std::unique_ptr<File> f_;
};

class WritableFile final : public rocksdb::FSWritableFile {
 public:
  WritableFile(std::unique_ptr<File> f, uint64_t size) : f_(std::move(f)), size_(size) {}
  IOStatus Append(const Slice& data, const IOOptions&, IODebugContext*) override {
    Status s = f_->Write(size_, std::as_bytes(std::span(data.data(), data.size())));
    if (s.ok()) size_ += data.size();
    return ToIO(s);
  }
  IOStatus Append(const Slice& data, const IOOptions& o, const rocksdb::DataVerificationInfo&,
                  IODebugContext* dbg) override {
    return Append(data, o, dbg);
  }
  IOStatus Truncate(uint64_t size, const IOOptions&, IODebugContext*) override {
    Status s = f_->Truncate(size);
    if (s.ok()) size_ = size;
    return ToIO(s);
  }
  IOStatus Close(const IOOptions&, IODebugContext*) override {
    f_.reset();
    return IOStatus::OK();
  }
  IOStatus Flush(const IOOptions&, IODebugContext*) override { return IOStatus::OK(); }
  IOStatus Sync(const IOOptions&, IODebugContext*) override {
    return f_ ? ToIO(f_->Sync()) : IOStatus::OK();
  }
  IOStatus Fsync(const IOOptions& o, IODebugContext* dbg) override { return Sync(o, dbg); }
  uint64_t GetFileSize(const IOOptions&, IODebugContext*) override { return size_; }

 private:
  std::unique_ptr<File> f_;
  uint64_t size_;
};

class Directory final : public rocksdb::FSDirectory {
 public:
  Directory(Env* env, std::string path) : env_(env), path_(std::move(path)) {}
  IOStatus Fsync(const IOOptions&, IODebugContext*) override {
    return ToIO(env_->SyncDir(path_));
  }

 private:
  Env* env_;
  std::string path_;
};

class HeldLock final : public rocksdb::FileLock {
 public:
  explicit HeldLock(std::unique_ptr<cstor::FileLock> l) : lock_(std::move(l)) {}

 private:
  std::unique_ptr<cstor::FileLock> lock_;
};

// Forwards RocksDB's own log lines (warnings and errors only) to our logger.
class Logger final : public rocksdb::Logger {
 public:
  Logger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char buf[1024];
    vsnprintf(buf, sizeof(buf), format, ap);
    if (level >= rocksdb::InfoLogLevel::ERROR_LEVEL) {
      CSTOR_LOG_ERROR("rocksdb: {}", buf);
    } else {
      CSTOR_LOG_WARN("rocksdb: {}", buf);
    }
  }
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
};

class EnvFileSystem final : public rocksdb::FileSystem {
 public:
  explicit EnvFileSystem(Env* env) : env_(env) {}
  const char* Name() const override { return "cstor::EnvFileSystem"; }

  IOStatus NewSequentialFile(const std::string& f, const rocksdb::FileOptions&,
                             std::unique_ptr<rocksdb::FSSequentialFile>* r,
                             IODebugContext*) override {
    auto file = env_->OpenFile(f, {.read_only = true});
    if (!file.ok()) return ToIO(file.status());
    *r = std::make_unique<SequentialFile>(std::move(*file));
    return IOStatus::OK();
  }
  IOStatus NewRandomAccessFile(const std::string& f, const rocksdb::FileOptions&,
                               std::unique_ptr<rocksdb::FSRandomAccessFile>* r,
                               IODebugContext*) override {
    auto file = env_->OpenFile(f, {.read_only = true});
    if (!file.ok()) return ToIO(file.status());
    *r = std::make_unique<RandomAccessFile>(std::move(*file));
    return IOStatus::OK();
  }
  IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions&,
                           std::unique_ptr<rocksdb::FSWritableFile>* r,
                           IODebugContext*) override {
    auto file = env_->OpenFile(f, {.create = true});
    if (!file.ok()) return ToIO(file.status());
    Status s = (*file)->Truncate(0);
    if (!s.ok()) return ToIO(s);
    *r = std::make_unique<WritableFile>(std::move(*file), 0);
    return IOStatus::OK();
  }
  IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions&,
                              std::unique_ptr<rocksdb::FSWritableFile>* r,
                              IODebugContext*) override {
    auto file = env_->OpenFile(f, {.create = true});
    if (!file.ok()) return ToIO(file.status());
    auto size = (*file)->Size();
    if (!size.ok()) return ToIO(size.status());
    *r = std::make_unique<WritableFile>(std::move(*file), *size);
    return IOStatus::OK();
  }
  IOStatus NewDirectory(const std::string& name, const IOOptions&,
                        std::unique_ptr<rocksdb::FSDirectory>* r, IODebugContext*) override {
    *r = std::make_unique<Directory>(env_, name);
    return IOStatus::OK();
  }
  IOStatus FileExists(const std::string& f, const IOOptions&, IODebugContext*) override {
    auto info = env_->Stat(f);
    if (!info.ok()) return ToIO(info.status());
    return info->exists ? IOStatus::OK() : IOStatus::NotFound(f);
  }
  IOStatus GetChildren(const std::string& dir, const IOOptions&, std::vector<std::string>* r,
                       IODebugContext*) override {
    auto names = env_->GetChildren(dir);
    if (!names.ok()) return ToIO(names.status());
    *r = std::move(*names);
    return IOStatus::OK();
  }
  IOStatus DeleteFile(const std::string& f, const IOOptions&, IODebugContext*) override {
    return ToIO(env_->DeleteFile(f));
  }
  IOStatus CreateDir(const std::string& d, const IOOptions&, IODebugContext*) override {
    return ToIO(env_->CreateDir(d));
  }
  IOStatus CreateDirIfMissing(const std::string& d, const IOOptions&,
                              IODebugContext*) override {
    return ToIO(env_->CreateDirs(d));
  }
  IOStatus DeleteDir(const std::string& d, const IOOptions&, IODebugContext*) override {
    return ToIO(env_->DeleteDir(d));
  }
  IOStatus GetFileSize(const std::string& f, const IOOptions&, uint64_t* size,
                       IODebugContext*) override {
    auto info = env_->Stat(f);
    if (!info.ok()) return ToIO(info.status());
    if (!info->exists) return IOStatus::PathNotFound(f);
    *size = info->size;
    return IOStatus::OK();
  }
  IOStatus GetFileModificationTime(const std::string& f, const IOOptions&, uint64_t* mtime,
                                   IODebugContext*) override {
    auto info = env_->Stat(f);
    if (!info.ok()) return ToIO(info.status());
    *mtime = info->mtime_seconds;
    return IOStatus::OK();
  }
  IOStatus RenameFile(const std::string& from, const std::string& to, const IOOptions&,
                      IODebugContext*) override {
    return ToIO(env_->RenameFile(from, to));
  }
  IOStatus LockFile(const std::string& f, const IOOptions&, rocksdb::FileLock** lock,
                    IODebugContext*) override {
    auto l = env_->LockFile(f);
    if (!l.ok()) return ToIO(l.status());
    *lock = new HeldLock(std::move(*l));
    return IOStatus::OK();
  }
  IOStatus UnlockFile(rocksdb::FileLock* lock, const IOOptions&, IODebugContext*) override {
    delete lock;
    return IOStatus::OK();
  }
  IOStatus GetTestDirectory(const IOOptions&, std::string* path, IODebugContext*) override {
    *path = "/tmp";
    return IOStatus::OK();
  }
  IOStatus NewLogger(const std::string&, const IOOptions&,
                     std::shared_ptr<rocksdb::Logger>* result, IODebugContext*) override {
    *result = std::make_shared<Logger>();
    return IOStatus::OK();
  }
  IOStatus GetAbsolutePath(const std::string& db_path, const IOOptions&, std::string* out,
                           IODebugContext*) override {
    *out = db_path;
    return IOStatus::OK();
  }
  IOStatus IsDirectory(const std::string& path, const IOOptions&, bool* is_dir,
                       IODebugContext*) override {
    auto info = env_->Stat(path);
    if (!info.ok()) return ToIO(info.status());
    if (!info->exists) return IOStatus::PathNotFound(path);
    *is_dir = info->is_directory;
    return IOStatus::OK();
  }

 private:
  Env* const env_;
};

}  // namespace

std::shared_ptr<rocksdb::FileSystem> NewEnvFileSystem(Env* env) {
  return std::make_shared<EnvFileSystem>(env);
}

}  // namespace cstor::engine
