#include <gtest/gtest.h>

#include "engine/engine_test_util.h"

namespace cstor::engine {
namespace {

using testing::Pattern;
using testing::ReadBytes;

class CapacityTest : public testing::PoolFixture {
 protected:
  uint64_t DeviceSize() override { return 17 << 20; }  // 16 MiB of data space
};

TEST_F(CapacityTest, FullPoolRefusesWritesWithoutCorruptingAnything) {
  // Disable the read-only threshold to reach true exhaustion.
  pool_.reset();
  ASSERT_TRUE(env_.DeleteFile("/pool/dev0.img").ok());
  std::vector<std::string> kids = *env_.GetChildren("/pool/meta");
  for (auto& k : kids) ASSERT_TRUE(env_.DeleteFile("/pool/meta/" + k).ok());
  ASSERT_TRUE(env_.DeleteDir("/pool/meta").ok());
  auto opts = Options();
  opts.ro_threshold_pct = 100;
  auto p = Pool::Create(kDir, {{"dev0.img", DeviceSize()}}, opts);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  pool_ = std::move(*p);

  auto v = NewVolume("v", 64 << 20);
  uint64_t written = 0;
  Status s;
  while (true) {
    s = v->Write(written, Pattern(written, 1 << 20));
    if (!s.ok()) break;
    written += 1 << 20;
  }
  EXPECT_TRUE(s.Is(Code::kNoSpace)) << s.ToString();
  EXPECT_NE(s.message().find("no space"), std::string::npos);
  EXPECT_GE(written, 14u << 20);
  for (uint64_t off = 0; off < written; off += 1 << 20) {
    EXPECT_EQ(ReadBytes(*v, off, 1 << 20), Pattern(off, 1 << 20));
  }
  // Overwrites need new space first (copy-on-write), so they fail too, cleanly.
  EXPECT_TRUE(v->Write(0, Pattern(1, 1 << 20)).Is(Code::kNoSpace));
  EXPECT_EQ(ReadBytes(*v, 0, 1 << 20), Pattern(0, 1 << 20));
  // Unmapping frees space and writes work again.
  ASSERT_TRUE(v->Unmap(0, 4 << 20).ok());
  ASSERT_TRUE(pool_->Flush().ok());
  EXPECT_TRUE(v->Write(0, Pattern(2, 1 << 20)).ok());
  ExpectConsistent();
}

TEST_F(CapacityTest, ReadOnlyAboveThresholdUntilSpaceIsFreed) {
  auto v = NewVolume("v", 64 << 20);
  Status s;
  uint64_t written = 0;
  while ((s = v->Write(written, Pattern(written, 1 << 20))).ok()) written += 1 << 20;
  EXPECT_TRUE(s.Is(Code::kReadOnly)) << s.ToString();
  EXPECT_NE(s.message().find("85% threshold"), std::string::npos);
  auto stats = pool_->Stats();
  EXPECT_TRUE(stats.read_only);
  EXPECT_GE(stats.used_bytes * 100, stats.total_bytes * 85);
  // Reads still work; unmap (which frees) is allowed.
  auto first = Pattern(0, 1 << 20);
  first.resize(4096);
  EXPECT_EQ(ReadBytes(*v, 0, 4096), first);
  ASSERT_TRUE(v->Unmap(0, 8 << 20).ok());
  ASSERT_TRUE(pool_->Flush().ok());
  EXPECT_FALSE(pool_->Stats().read_only);
  EXPECT_TRUE(v->Write(0, Pattern(5, 4096)).ok());
}

TEST_F(CapacityTest, CorruptBlockIsADistinctErrorCountedAndFoundByScrub) {
  auto v = NewVolume("v");
  ASSERT_TRUE(v->Write(0, Pattern(1, 64 << 10)).ok());
  ASSERT_TRUE(v->CreateSnapshot("s").ok());
  ASSERT_TRUE(v->Write(0, Pattern(2, 4096)).ok());  // block 0's old version is held by s
  ASSERT_TRUE(pool_->Flush().ok());
  testing::CorruptBlock(env_, "/pool/dev0.img", *v, 3, 4000, 16);
  std::vector<std::byte> buf(4096);
  Status s = v->Read(3 * 4096, buf);
  EXPECT_TRUE(s.Is(Code::kCorruption)) << s.ToString();
  EXPECT_NE(s.message().find("checksum mismatch in volume v block 3"), std::string::npos);
  EXPECT_TRUE(v->Read(2 * 4096, buf).ok());  // neighbours unaffected
  EXPECT_EQ(pool_->Stats().checksum_errors, 1u);

  uint64_t progress_calls = 0;
  auto report = pool_->Scrub([&](uint64_t, uint64_t) { progress_calls++; });
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->blocks_checked, 17u);  // 16 live + 1 held by the snapshot
  ASSERT_EQ(report->errors.size(), 1u);
  EXPECT_EQ(report->errors[0].lba, 3u);
  EXPECT_FALSE(report->errors[0].snapshot_only);
  EXPECT_GE(progress_calls, 1u);
}

TEST_F(CapacityTest, DevicesAreCheckedOnOpen) {
  pool_.reset();
  // A device that lost its label, or belongs elsewhere, stops the pool from opening.
  auto f = env_.OpenFile("/pool/dev0.img", {});
  ASSERT_TRUE(f.ok());
  std::string zeros(4096, '\0');
  ASSERT_TRUE((*f)->Write(0, std::as_bytes(std::span(zeros))).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  auto p = Pool::Open(kDir, Options());
  EXPECT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("no cstor device label"), std::string::npos)
      << p.status().ToString();
  EXPECT_TRUE(Pool::Open("/nowhere", Options()).status().Is(Code::kNotFound));
}

TEST_F(CapacityTest, SecondOpenOfTheSamePoolIsRefused) {
  auto second = Pool::Open(kDir, Options());
  EXPECT_TRUE(second.status().Is(Code::kFailedPrecondition)) << second.status().ToString();
  EXPECT_TRUE(Pool::Create(kDir, {{"dev1.img", 32 << 20}}, Options())
                  .status()
                  .Is(Code::kAlreadyExists));
}

}  // namespace
}  // namespace cstor::engine
