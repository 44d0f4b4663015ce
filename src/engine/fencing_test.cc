// A pool whose commit failed is fenced: besides writes, every read and every change
// stream must fail from then on. The failed epoch's records are gone from the journal,
// so anything that still answered would answer from older records: stale data.
#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "engine/engine_test_util.h"

namespace cstor::engine {
namespace {

using testing::Pattern;
using testing::ReadBytes;

// A MemEnv whose files fail Sync, once armed, when their path contains `pattern` (the
// data devices, or the metadata store's files). Everything else passes through.
class SyncFailingEnv final : public Env {
 public:
  void FailSyncs(std::string pattern) {
    MutexLock l(&mu_);
    pattern_ = std::move(pattern);
  }
  bool ShouldFail(const std::string& path) {
    MutexLock l(&mu_);
    return !pattern_.empty() && path.find(pattern_) != std::string::npos;
  }

  Result<std::unique_ptr<File>> OpenFile(const std::string& path,
                                         const FileOptions& options) override {
    CSTOR_ASSIGN_OR_RETURN(auto file, base_.OpenFile(path, options));
    return std::unique_ptr<File>(new FaultyFile(this, path, std::move(file)));
  }
  Status DeleteFile(const std::string& p) override { return base_.DeleteFile(p); }
  Status RenameFile(const std::string& a, const std::string& b) override {
    return base_.RenameFile(a, b);
  }
  Status CreateDir(const std::string& p) override { return base_.CreateDir(p); }
  Status DeleteDir(const std::string& p) override { return base_.DeleteDir(p); }
  Result<std::vector<std::string>> GetChildren(const std::string& d) override {
    return base_.GetChildren(d);
  }
  Result<FileInfo> Stat(const std::string& p) override { return base_.Stat(p); }
  Status SyncDir(const std::string& d) override { return base_.SyncDir(d); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& p) override {
    return base_.LockFile(p);
  }
  uint64_t NowMicros() override { return base_.NowMicros(); }
  uint64_t WallMicros() override { return base_.WallMicros(); }
  void SleepForMicros(uint64_t m) override { base_.SleepForMicros(m); }
  uint64_t NewRandomSeed() override { return base_.NewRandomSeed(); }

 private:
  class FaultyFile final : public File {
   public:
    FaultyFile(SyncFailingEnv* env, std::string path, std::unique_ptr<File> base)
        : env_(env), path_(std::move(path)), base_(std::move(base)) {}
    Result<size_t> Read(uint64_t off, std::span<std::byte> out) override {
      return base_->Read(off, out);
    }
    Status Write(uint64_t off, std::span<const std::byte> d) override {
      return base_->Write(off, d);
    }
    Status Sync() override {
      if (env_->ShouldFail(path_)) return Status::IoError("injected sync failure: " + path_);
      return base_->Sync();
    }
    Result<uint64_t> Size() override { return base_->Size(); }
    Status Truncate(uint64_t size) override { return base_->Truncate(size); }
    Status Discard(uint64_t off, uint64_t len) override { return base_->Discard(off, len); }

   private:
    SyncFailingEnv* env_;
    std::string path_;
    std::unique_ptr<File> base_;
  };

  MemEnv base_;
  Mutex mu_;
  std::string pattern_ GUARDED_BY(mu_);
};

class FencingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PoolOptions o;
    o.env = &env_;
    o.block_cache_bytes = 1 << 20;
    o.meta_write_buffer_bytes = 256 << 10;
    o.commit_interval_micros = 60'000'000;  // commits only when a flush asks
    auto pool = Pool::Create("/pool", {{"dev0.img", 64 << 20}}, o);
    ASSERT_TRUE(pool.ok()) << pool.status().ToString();
    pool_ = std::move(*pool);
    auto v = pool_->CreateVolume("v", 16 << 20);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    volume_ = *v;
    // Blocks 0..3 hold an old version, durable; then blocks 0..1 are rewritten.
    ASSERT_TRUE(volume_->Write(0, Pattern(1, 4 * 4096), 10).ok());
    ASSERT_TRUE(volume_->CreateSnapshot("s1").ok());
    ASSERT_TRUE(volume_->Flush().ok());
    ASSERT_TRUE(volume_->Write(0, Pattern(2, 2 * 4096), 20).ok());
  }
  void TearDown() override {
    volume_.reset();
    (void)pool_->Close();  // fails: the pool is fenced
  }
  // The rewrite's commit fails: syncing the files whose path contains `pattern` fails.
  void FailCommit(const std::string& pattern) {
    env_.FailSyncs(pattern);
    Status s = volume_->Flush();
    ASSERT_FALSE(s.ok()) << "the flush should have failed";
  }
  void ExpectFenced(const Status& s, const char* what) {
    EXPECT_FALSE(s.ok()) << what << " succeeded on a fenced pool";
    EXPECT_NE(s.message().find("fenced"), std::string::npos) << what << ": " << s.ToString();
  }
  void ExpectEverythingFails() {
    std::vector<std::byte> buf(2 * 4096);
    Status read = volume_->Read(0, buf);
    if (read.ok()) {
      EXPECT_FALSE(buf == Pattern(1, 2 * 4096)) << "a fenced pool served the older version";
    }
    ExpectFenced(read, "Read");
    ExpectFenced(volume_->Read(8 * 4096, buf), "Read of untouched blocks");
    ExpectFenced(volume_->ReadSnapshot("s1", 0, buf), "ReadSnapshot");
    ExpectFenced(volume_->ReadVersion(0).status(), "ReadVersion");
    ExpectFenced(volume_->ChangedSince(0).status(), "ChangedSince");
    ExpectFenced(volume_->ForEachBlock([](uint64_t, const BlockRecord&) { return true; }),
                 "ForEachBlock");
    ExpectFenced(volume_->Health(), "Health");
    ExpectFenced(pool_->Scrub().status(), "Scrub");
    ExpectFenced(volume_->Write(0, Pattern(3, 4096), 30), "Write");
    ExpectFenced(volume_->Flush(), "Flush");
  }

  SyncFailingEnv env_;
  std::unique_ptr<Pool> pool_;
  std::shared_ptr<Volume> volume_;
};

TEST_F(FencingTest, HealthyBeforeAFailure) {
  EXPECT_TRUE(volume_->Health().ok());
  EXPECT_EQ(ReadBytes(*volume_, 0, 2 * 4096), Pattern(2, 2 * 4096));
}

TEST_F(FencingTest, FailedDeviceSyncFailsReadsInsteadOfServingOlderData) {
  FailCommit("dev0.img");
  ExpectEverythingFails();
}

TEST_F(FencingTest, FailedMetadataWriteFailsReadsInsteadOfServingOlderData) {
  FailCommit("/meta/");
  ExpectEverythingFails();
}

TEST_F(FencingTest, StreamOpenedBeforeTheFailureFailsAfterIt) {
  auto it = volume_->ChangedSince(0);
  ASSERT_TRUE(it.ok()) << it.status().ToString();
  FailCommit("dev0.img");
  ExpectFenced((*it)->Next(16).status(), "ChangeIterator::Next");
}

}  // namespace
}  // namespace cstor::engine
