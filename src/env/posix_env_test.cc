#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

#include "base/aligned_buffer.h"
#include "env/env.h"

namespace cstor {
namespace {

class PosixEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cstor-env-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    auto children = env_->GetChildren(dir_);
    if (children.ok()) {
      for (auto& c : *children) (void)env_->DeleteFile(JoinPath(dir_, c));
    }
    (void)env_->DeleteDir(dir_);
  }
  Env* env_ = Env::Default();
  std::string dir_;
};

TEST_F(PosixEnvTest, WriteReadSyncAndSize) {
  std::string path = JoinPath(dir_, "f");
  auto f = env_->OpenFile(path, {.create = true});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  std::string msg = "hello, durable world";
  ASSERT_TRUE((*f)->Write(100, std::as_bytes(std::span(msg))).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  EXPECT_EQ(*(*f)->Size(), 100 + msg.size());
  std::string back(msg.size(), '\0');
  ASSERT_TRUE((*f)->ReadExact(100, std::as_writable_bytes(std::span(back))).ok());
  EXPECT_EQ(back, msg);
  std::byte past[8];
  EXPECT_EQ(*(*f)->Read(1000, past), 0u);
  EXPECT_FALSE((*f)->ReadExact(110, std::as_writable_bytes(std::span(back))).ok());
}

TEST_F(PosixEnvTest, DirectIoWithAlignedBuffers) {
  auto f = env_->OpenFile(JoinPath(dir_, "d"), {.create = true, .direct_io = true});
  if (!f.ok() && f.status().Is(Code::kInvalidArgument)) GTEST_SKIP() << "no O_DIRECT here";
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  AlignedBuffer buf(8192);
  std::memset(buf.data(), 0x5a, buf.size());
  ASSERT_TRUE((*f)->Write(4096, buf.span()).ok());
  AlignedBuffer back(8192);
  ASSERT_TRUE((*f)->ReadExact(4096, back.span()).ok());
  EXPECT_EQ(std::memcmp(buf.data(), back.data(), 8192), 0);
}

TEST_F(PosixEnvTest, ExclusiveCreateAndMissingFile) {
  std::string path = JoinPath(dir_, "x");
  ASSERT_TRUE(env_->OpenFile(path, {.create = true, .exclusive = true}).ok());
  EXPECT_TRUE(env_->OpenFile(path, {.create = true, .exclusive = true})
                  .status()
                  .Is(Code::kAlreadyExists));
  EXPECT_TRUE(env_->OpenFile(JoinPath(dir_, "nope"), {}).status().Is(Code::kNotFound));
  auto info = env_->Stat(JoinPath(dir_, "nope"));
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->exists);
}

TEST_F(PosixEnvTest, LockIsExclusiveEvenWithinOneProcess) {
  std::string path = JoinPath(dir_, "LOCK");
  auto a = env_->LockFile(path);
  ASSERT_TRUE(a.ok());
  auto b = env_->LockFile(path);
  EXPECT_TRUE(b.status().Is(Code::kFailedPrecondition));
  a->reset();
  EXPECT_TRUE(env_->LockFile(path).ok());
}

TEST_F(PosixEnvTest, CreateDirsAndChildren) {
  std::string deep = JoinPath(dir_, "a/b");
  ASSERT_TRUE(env_->CreateDirs(deep).ok());
  ASSERT_TRUE(env_->CreateDirs(deep).ok());  // idempotent
  auto kids = env_->GetChildren(JoinPath(dir_, "a"));
  ASSERT_TRUE(kids.ok());
  EXPECT_EQ(*kids, std::vector<std::string>{"b"});
  ASSERT_TRUE(env_->DeleteDir(deep).ok());
  ASSERT_TRUE(env_->DeleteDir(JoinPath(dir_, "a")).ok());
}

}  // namespace
}  // namespace cstor
