// DigestVolume: replicas holding the same blocks at the same io sequences agree, however
// they came to read as zeros; any difference in data or io sequence shows.
#include "engine/digest.h"

#include <gtest/gtest.h>

#include "engine/engine_test_util.h"

namespace cstor::engine {
namespace {

using testing::Pattern;

class DigestTest : public testing::PoolFixture {
 protected:
  VolumeDigest Digest(Volume& v) {
    auto d = DigestVolume(v);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : VolumeDigest{};
  }
  // Blocks 0..3 written at io_seq 10, block 2 rewritten at 11, block 9 written at 12.
  void Fill(Volume& v) {
    ASSERT_TRUE(v.Write(0, Pattern(1, 4 * 4096), 10).ok());
    ASSERT_TRUE(v.Write(2 * 4096, Pattern(2, 4096), 11).ok());
    ASSERT_TRUE(v.Write(9 * 4096, Pattern(3, 4096), 12).ok());
  }
};

TEST_F(DigestTest, SameWritesSameDigest) {
  auto a = NewVolume("a"), b = NewVolume("b");
  Fill(*a);
  Fill(*b);
  VolumeDigest da = Digest(*a), db = Digest(*b);
  EXPECT_EQ(da.digest, db.digest);
  EXPECT_EQ(da.data_digest, db.data_digest);
  EXPECT_EQ(da.data_blocks, 5u);
  EXPECT_EQ(da.blocks, (16u << 20) / 4096);
  EXPECT_EQ(da.max_io_seq, 12u);
  EXPECT_EQ(da.digest.size(), 64u);
}

TEST_F(DigestTest, UnmappedAndNeverWrittenAgree) {
  auto a = NewVolume("a"), b = NewVolume("b");
  Fill(*a);
  Fill(*b);
  ASSERT_TRUE(a->Write(20 * 4096, Pattern(4, 4096), 13).ok());
  ASSERT_TRUE(a->Unmap(20 * 4096, 4096, 14).ok());  // a tombstone in a, nothing in b
  VolumeDigest da = Digest(*a), db = Digest(*b);
  EXPECT_EQ(da.unmapped_blocks, 1u);
  EXPECT_EQ(da.digest, db.digest);
  EXPECT_EQ(da.data_digest, db.data_digest);
}

TEST_F(DigestTest, ZerosWrittenDifferFromNothingOnlyInTheFullDigest) {
  auto a = NewVolume("a"), b = NewVolume("b");
  Fill(*a);
  Fill(*b);
  ASSERT_TRUE(a->Write(30 * 4096, std::vector<std::byte>(4096), 15).ok());
  VolumeDigest da = Digest(*a), db = Digest(*b);
  EXPECT_EQ(da.zero_blocks, 1u);
  EXPECT_NE(da.digest, db.digest);  // a version that b lacks
  EXPECT_EQ(da.data_digest, db.data_digest);
}

TEST_F(DigestTest, DataOrIoSeqDifferencesShow) {
  auto a = NewVolume("a"), b = NewVolume("b"), c = NewVolume("c");
  Fill(*a);
  Fill(*b);
  Fill(*c);
  auto changed = Pattern(2, 4096);
  changed[100] ^= std::byte{1};
  ASSERT_TRUE(b->Write(2 * 4096, changed, 11).ok());          // other data, same io_seq
  ASSERT_TRUE(c->Write(2 * 4096, Pattern(2, 4096), 99).ok());  // same data, other io_seq
  VolumeDigest da = Digest(*a), db = Digest(*b), dc = Digest(*c);
  EXPECT_NE(da.digest, db.digest);
  EXPECT_NE(da.data_digest, db.data_digest);
  EXPECT_NE(da.digest, dc.digest);
  EXPECT_EQ(da.data_digest, dc.data_digest);
  std::vector<BlockDigest> blocks;
  ASSERT_TRUE(DigestVolume(*c, [&](const BlockDigest& d) { blocks.push_back(d); }).ok());
  ASSERT_EQ(blocks.size(), 5u);
  EXPECT_EQ(blocks[2].lba, 2u);
  EXPECT_EQ(blocks[2].io_seq, 99u);
  EXPECT_EQ(blocks[4].lba, 9u);
}

TEST_F(DigestTest, CorruptBlockFailsTheDigest) {
  auto a = NewVolume("a");
  Fill(*a);
  ASSERT_TRUE(a->Flush().ok());
  testing::CorruptBlock(env_, "/pool/dev0.img", *a, 9, 0, 16);
  EXPECT_TRUE(DigestVolume(*a).status().Is(Code::kCorruption));
}

}  // namespace
}  // namespace cstor::engine
