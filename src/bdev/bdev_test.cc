#include <gtest/gtest.h>

#include <future>

#include "bdev/file_device.h"
#include "bdev/memory_device.h"

namespace cstor::bdev {
namespace {

FileDeviceOptions Options(std::string path, uint64_t size) {
  FileDeviceOptions o;
  o.path = std::move(path);
  o.size = size;
  return o;
}

Status WriteSync(BlockDevice& d, uint64_t offset, std::string data, bool fua = false) {
  std::promise<Status> p;
  d.Write(offset, std::move(data), fua, [&](Status s) { p.set_value(s); });
  return p.get_future().get();
}

Result<std::string> ReadSync(BlockDevice& d, uint64_t offset, uint32_t length) {
  std::promise<Result<std::string>> p;
  d.Read(offset, length, [&](Result<std::string> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

Status UnmapSync(BlockDevice& d, uint64_t offset, uint64_t length) {
  std::promise<Status> p;
  d.Unmap(offset, length, [&](Status s) { p.set_value(s); });
  return p.get_future().get();
}

Status FlushSync(BlockDevice& d) {
  std::promise<Status> p;
  d.Flush([&](Status s) { p.set_value(s); });
  return p.get_future().get();
}

// The contract every device keeps: reads see writes, unmapped ranges read as zeros, and
// writes and unmaps that straddle pages touch exactly their range.
void ExerciseDevice(BlockDevice& d) {
  const uint64_t size = d.Info().size;
  ASSERT_GE(size, 1u << 20);
  EXPECT_EQ(*ReadSync(d, 0, 8192), std::string(8192, '\0'));
  ASSERT_TRUE(WriteSync(d, 512, std::string(4096 * 3, 'a')).ok());
  ASSERT_TRUE(WriteSync(d, 4096, std::string(512, 'b'), /*fua=*/true).ok());
  auto r = ReadSync(d, 0, 16384);
  ASSERT_TRUE(r.ok());
  std::string expect(16384, '\0');
  expect.replace(512, 4096 * 3, std::string(4096 * 3, 'a'));
  expect.replace(4096, 512, std::string(512, 'b'));
  EXPECT_EQ(*r, expect);
  ASSERT_TRUE(UnmapSync(d, 1024, 8192).ok());
  expect.replace(1024, 8192, std::string(8192, '\0'));
  EXPECT_EQ(*ReadSync(d, 0, 16384), expect);
  ASSERT_TRUE(WriteSync(d, size - 512, std::string(512, 'z')).ok());
  EXPECT_EQ(*ReadSync(d, size - 512, 512), std::string(512, 'z'));
  EXPECT_TRUE(FlushSync(d).ok());
}

TEST(MemoryDevice, KeepsTheContract) {
  MemoryDevice d(4 << 20, "mem0");
  ExerciseDevice(d);
  EXPECT_EQ(d.Info().serial, "mem0");
}

TEST(MemoryDevice, GrowsAndServesTheNewBlocks) {
  MemoryDevice d(1 << 20, "m");
  EXPECT_EQ(d.CurrentSize(), 1u << 20);
  EXPECT_FALSE(d.Grow((1 << 20) - 512).ok());  // shrinking is refused
  EXPECT_FALSE(d.Grow((1 << 20) + 100).ok());  // so is a partial sector
  ASSERT_TRUE(d.Grow(2 << 20).ok());
  EXPECT_EQ(d.CurrentSize(), 2u << 20);
  EXPECT_EQ(d.Info().size, 2u << 20);
  ASSERT_TRUE(WriteSync(d, (2 << 20) - 512, std::string(512, 'n')).ok());
  EXPECT_EQ(*ReadSync(d, (2 << 20) - 512, 512), std::string(512, 'n'));
}

TEST(MemoryDevice, UnmapFreesWholePages) {
  MemoryDevice d(1 << 20, "m");
  ASSERT_TRUE(WriteSync(d, 0, std::string(16384, 'x')).ok());
  EXPECT_EQ(d.allocated_pages(), 4u);
  ASSERT_TRUE(UnmapSync(d, 4096, 8192).ok());
  EXPECT_EQ(d.allocated_pages(), 2u);
}

class FileDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_pattern[] = "/tmp/cstor-bdev-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_pattern), nullptr);
    dir_ = dir_pattern;
  }
  void TearDown() override {
    (void)Env::Default()->DeleteFile(dir_ + "/lun.img");
    (void)Env::Default()->DeleteDir(dir_);
  }
  std::string dir_;
};

TEST_F(FileDeviceTest, CreatesSparseAndKeepsTheContract) {
  auto d = FileDevice::Open(Options(dir_ + "/lun.img", 8 << 20));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ((*d)->Info().size, 8u << 20);
  ExerciseDevice(**d);
}

TEST_F(FileDeviceTest, ReopensWithTheSameData) {
  {
    auto d = FileDevice::Open(Options(dir_ + "/lun.img", 1 << 20));
    ASSERT_TRUE(d.ok());
    ASSERT_TRUE(WriteSync(**d, 4096, std::string(4096, 'q'), true).ok());
  }
  auto d = FileDevice::Open(Options(dir_ + "/lun.img", 0));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)->Info().size, 1u << 20);
  EXPECT_EQ(*ReadSync(**d, 4096, 4096), std::string(4096, 'q'));
}

TEST_F(FileDeviceTest, GrowsTheFile) {
  auto d = FileDevice::Open(Options(dir_ + "/lun.img", 1 << 20));
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE((*d)->Grow(1 << 19).ok());
  ASSERT_TRUE((*d)->Grow(2 << 20).ok());
  EXPECT_EQ((*d)->CurrentSize(), 2u << 20);
  ASSERT_TRUE(WriteSync(**d, (2 << 20) - 512, std::string(512, 'n')).ok());
  d->reset();
  auto again = FileDevice::Open(Options(dir_ + "/lun.img", 0));  // the file itself grew
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->Info().size, 2u << 20);
  EXPECT_EQ(*ReadSync(**again, (2 << 20) - 512, 512), std::string(512, 'n'));
}

TEST_F(FileDeviceTest, RefusesBadInput) {
  auto missing = FileDevice::Open(Options(dir_ + "/lun.img", 0));
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  auto odd = FileDevice::Open(Options(dir_ + "/lun.img", 1000));
  EXPECT_EQ(odd.status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace cstor::bdev
