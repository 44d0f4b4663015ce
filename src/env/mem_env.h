// MemEnv: an in-memory Env that can simulate a power cut.
//
// Every file remembers two images: what has been written, and what has been made durable
// by Sync(). Until a Sync, each write is only "in flight". A crash loses the in-flight
// state the way real disks do: SimulatePowerCut() lets each in-flight write survive whole,
// vanish, or tear (some of its 512-byte sectors land, the others keep their old contents),
// chosen by a seeded Random, and applies the survivors in order. Writes that were synced
// always survive.
//
// CrashAfterOps(n) arms a crash at a random point inside the code under test: after n more
// mutating operations the "machine dies" and every operation on the Env fails with IoError
// until SimulatePowerCut() brings it back. Handles opened before the crash stay dead.
//
// Modelled simplification: creating, renaming and deleting files are durable at once (as
// if every directory operation were followed by SyncDir). File data and sizes follow the
// sync rules above.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <map>
#include <memory>
#include <set>

#include "base/mutex.h"
#include "base/random.h"
#include "env/env.h"

namespace cstor {

class MemEnv final : public Env {
 public:
  explicit MemEnv(uint64_t seed = 1);
  ~MemEnv() override;

  // After `ops` more mutating operations (write, sync, truncate, create, rename, delete),
  // the machine dies. The operation that trips it fails, though a write that trips it may
  // still partially reach the disk.
  void CrashAfterOps(uint64_t ops);
  bool crashed();
  // Power comes back: in-flight writes are kept, dropped or torn, the Env works again, and
  // files must be reopened. May be called with or without a prior crash.
  void SimulatePowerCut(Random& rng);
  // Like a power cut that drops every in-flight write.
  void DropUnsyncedData();
  // Overwrites n bytes at offset in both images of a file with random bytes.
  Status CorruptBytes(const std::string& path, uint64_t offset, size_t n, Random& rng);
  // Number of mutating operations so far (to choose crash points).
  uint64_t mutating_ops();

  Result<std::unique_ptr<File>> OpenFile(const std::string& path,
                                         const FileOptions& options) override;
  Status DeleteFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status CreateDir(const std::string& path) override;
  Status DeleteDir(const std::string& path) override;
  Result<std::vector<std::string>> GetChildren(const std::string& dir) override;
  Result<FileInfo> Stat(const std::string& path) override;
  Status SyncDir(const std::string& dir) override;
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;

  uint64_t NowMicros() override;
  uint64_t WallMicros() override;
  void SleepForMicros(uint64_t micros) override;
  uint64_t NewRandomSeed() override;

  struct Node;  // one file's two images; defined in mem_env.cc

 private:
  friend class MemFileHandle;
  friend class MemFileLock;
  // Counts a mutating operation; returns an error if the machine is (now) dead.
  Status Tick() REQUIRES(mu_);
  Status CheckAlive(uint64_t boot) REQUIRES(mu_);
  void PowerCut(Random* rng) REQUIRES(mu_);

  Mutex mu_;
  std::map<std::string, std::shared_ptr<Node>> files_ GUARDED_BY(mu_);
  std::set<std::string> dirs_ GUARDED_BY(mu_);
  std::set<std::string> locks_ GUARDED_BY(mu_);
  uint64_t boot_ GUARDED_BY(mu_) = 1;  // bumped by each power cut; old handles die
  bool dead_ GUARDED_BY(mu_) = false;
  uint64_t crash_countdown_ GUARDED_BY(mu_) = 0;  // 0 = not armed
  uint64_t mutating_ops_ GUARDED_BY(mu_) = 0;
  Random seeds_ GUARDED_BY(mu_);
};

}  // namespace cstor
