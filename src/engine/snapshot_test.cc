#include <gtest/gtest.h>

#include "engine/engine_test_util.h"

namespace cstor::engine {
namespace {

using testing::IsZero;
using testing::Pattern;
using testing::ReadBytes;

class SnapshotTest : public testing::PoolFixture {
 protected:
  std::vector<std::byte> ReadSnap(Volume& v, const std::string& snap, uint64_t off, size_t n) {
    std::vector<std::byte> out(n);
    Status s = v.ReadSnapshot(snap, off, out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }
};

TEST_F(SnapshotTest, SnapshotKeepsOldDataWhileVolumeMovesOn) {
  auto v = NewVolume("v");
  auto a = Pattern(1, 64 << 10), b = Pattern(2, 64 << 10);
  ASSERT_TRUE(v->Write(0, a).ok());
  auto info = v->CreateSnapshot("s1");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->referenced_bytes, 64u << 10);
  EXPECT_EQ(info->used_bytes, 0u);  // nothing diverged yet
  ASSERT_TRUE(v->Write(0, b).ok());
  ASSERT_TRUE(v->Write(128 << 10, b).ok());  // born after the snapshot
  EXPECT_EQ(ReadBytes(*v, 0, 64 << 10), b);
  EXPECT_EQ(ReadSnap(*v, "s1", 0, 64 << 10), a);
  EXPECT_TRUE(IsZero(ReadSnap(*v, "s1", 128 << 10, 64 << 10)));
  auto list = v->ListSnapshots();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].used_bytes, 64u << 10);  // a is now held only by s1
  EXPECT_EQ(v->Info().snapshot_bytes, 64u << 10);
  Reopen();
  auto again = *pool_->OpenVolume("v");
  EXPECT_EQ(ReadSnap(*again, "s1", 0, 64 << 10), a);
  ExpectConsistent();
}

TEST_F(SnapshotTest, DeletingSnapshotsInAnyOrderFreesExactlyWhatTheyHeld) {
  auto v = NewVolume("v");
  // Generation k writes pattern k over block k.. of a 16-block region; snapshot after each.
  std::vector<std::vector<std::byte>> states;
  std::vector<std::byte> model(16 * 4096);
  for (int k = 0; k < 5; k++) {
    auto data = Pattern(10 + k, (16 - 3 * k) * 4096);
    ASSERT_TRUE(v->Write(3 * k * 4096, data).ok());
    std::copy(data.begin(), data.end(), model.begin() + 3 * k * 4096);
    if (k == 2) {
      ASSERT_TRUE(v->Unmap(0, 4096).ok());
      std::fill_n(model.begin(), 4096, std::byte{0});
    }
    ASSERT_TRUE(v->CreateSnapshot("s" + std::to_string(k)).ok());
    states.push_back(model);
  }
  ASSERT_TRUE(v->Write(0, Pattern(99, 16 * 4096)).ok());
  for (int k = 0; k < 5; k++) {
    EXPECT_EQ(ReadSnap(*v, "s" + std::to_string(k), 0, model.size()), states[k]);
  }
  for (int k : {2, 0, 4, 1}) {
    ASSERT_TRUE(v->DeleteSnapshot("s" + std::to_string(k)).ok());
    ExpectConsistent();
    EXPECT_EQ(ReadSnap(*v, "s3", 0, model.size()), states[3]);
  }
  EXPECT_TRUE(v->DeleteSnapshot("s0").Is(Code::kNotFound));
  ASSERT_TRUE(v->DeleteSnapshot("s3").ok());
  ASSERT_TRUE(pool_->Flush().ok());
  EXPECT_EQ(v->Info().snapshot_bytes, 0u);
  EXPECT_EQ(pool_->Stats().used_bytes, 16u * 4096);
  ExpectConsistent();
}

TEST_F(SnapshotTest, ClonesAreWritableAndIndependent) {
  auto v = NewVolume("v");
  auto a = Pattern(1, 32 << 10);
  ASSERT_TRUE(v->Write(0, a).ok());
  ASSERT_TRUE(v->CreateSnapshot("s").ok());
  ASSERT_TRUE(v->Write(0, Pattern(2, 4096)).ok());  // origin moves on
  auto c = pool_->CloneVolume("c", "v", "s");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto clone = *c;
  EXPECT_EQ(ReadBytes(*clone, 0, 32 << 10), a);
  EXPECT_EQ(clone->Info().origin, "v@s");
  auto b = Pattern(3, 8192);
  ASSERT_TRUE(clone->Write(4096, b).ok());
  ASSERT_TRUE(clone->Unmap(16384, 4096).ok());
  auto expected = a;
  std::copy(b.begin(), b.end(), expected.begin() + 4096);
  std::fill_n(expected.begin() + 16384, 4096, std::byte{0});
  EXPECT_EQ(ReadBytes(*clone, 0, 32 << 10), expected);
  EXPECT_EQ(ReadSnap(*v, "s", 0, 32 << 10), a);  // origin snapshot untouched

  EXPECT_TRUE(v->DeleteSnapshot("s").Is(Code::kFailedPrecondition));
  EXPECT_TRUE(pool_->DeleteVolume("v").Is(Code::kFailedPrecondition));
  // A clone of a clone.
  ASSERT_TRUE(clone->CreateSnapshot("cs").ok());
  auto cc = pool_->CloneVolume("cc", "c", "cs");
  ASSERT_TRUE(cc.ok());
  EXPECT_EQ(ReadBytes(**cc, 0, 32 << 10), expected);

  Reopen();
  EXPECT_EQ(ReadBytes(**pool_->OpenVolume("cc"), 0, 32 << 10), expected);
  EXPECT_EQ(ReadBytes(**pool_->OpenVolume("c"), 0, 32 << 10), expected);
  ExpectConsistent();
  ASSERT_TRUE(pool_->DeleteVolume("cc").ok());
  ASSERT_TRUE(pool_->DeleteVolume("c").ok());
  auto origin = *pool_->OpenVolume("v");
  ASSERT_TRUE(origin->DeleteSnapshot("s").ok());
  ASSERT_TRUE(pool_->DeleteVolume("v").ok());
  ASSERT_TRUE(pool_->Flush().ok());
  EXPECT_EQ(pool_->Stats().used_bytes, 0u);
  ExpectConsistent();
}

TEST_F(SnapshotTest, CloneOfWrongNamesFailsClearly) {
  auto v = NewVolume("v");
  EXPECT_TRUE(pool_->CloneVolume("c", "v", "nope").status().Is(Code::kNotFound));
  EXPECT_TRUE(pool_->CloneVolume("c", "nope", "s").status().Is(Code::kNotFound));
  ASSERT_TRUE(v->CreateSnapshot("s").ok());
  EXPECT_TRUE(v->CreateSnapshot("s").status().Is(Code::kAlreadyExists));
  EXPECT_TRUE(v->CreateSnapshot("a@b").status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(pool_->CloneVolume("v", "v", "s").status().Is(Code::kAlreadyExists));
}

TEST_F(SnapshotTest, InterruptedSnapshotDeletionFinishesOnOpen) {
  auto v = NewVolume("v");
  ASSERT_TRUE(v->Write(0, Pattern(1, 1 << 20)).ok());
  ASSERT_TRUE(v->CreateSnapshot("s").ok());
  ASSERT_TRUE(v->Write(0, Pattern(2, 1 << 20)).ok());
  ASSERT_TRUE(pool_->Flush().ok());
  // Crash in the middle of the deletion: after the snapshot is hidden, before all is freed.
  uint64_t before = env_.mutating_ops();
  ASSERT_TRUE(v->DeleteSnapshot("s").ok());
  uint64_t ops = env_.mutating_ops() - before;
  Reopen();
  v = *pool_->OpenVolume("v");
  ASSERT_TRUE(v->CreateSnapshot("s").ok());
  ASSERT_TRUE(v->Write(0, Pattern(3, 1 << 20)).ok());
  ASSERT_TRUE(pool_->Flush().ok());
  v.reset();
  env_.CrashAfterOps(ops / 2 + 1);
  (void)(*pool_->OpenVolume("v"))->DeleteSnapshot("s");
  pool_.reset();
  env_.DropUnsyncedData();
  Reopen();
  v = *pool_->OpenVolume("v");
  EXPECT_TRUE(v->ListSnapshots().empty());
  EXPECT_EQ(ReadBytes(*v, 0, 1 << 20), Pattern(3, 1 << 20));
  ASSERT_TRUE(pool_->Flush().ok());
  EXPECT_EQ(pool_->Stats().used_bytes, 1u << 20);
  ExpectConsistent();
}

}  // namespace
}  // namespace cstor::engine
