#include <gtest/gtest.h>

#include <map>
#include <set>

#include "engine/engine_test_util.h"

namespace cstor::engine {
namespace {

using testing::Pattern;
using testing::ReadBytes;

class ChangeIteratorTest : public testing::PoolFixture {
 protected:
  std::map<uint64_t, BlockChange> Drain(ChangeIterator& it, size_t batch = 7) {
    std::map<uint64_t, BlockChange> out;
    while (true) {
      auto next = it.Next(batch);
      EXPECT_TRUE(next.ok()) << next.status().ToString();
      if (!next.ok() || next->empty()) break;
      EXPECT_LE(next->size(), batch);
      for (auto& c : *next) {
        EXPECT_FALSE(out.contains(c.lba)) << "block " << c.lba << " streamed twice";
        uint64_t lba = c.lba;
        out.emplace(lba, std::move(c));
      }
    }
    EXPECT_EQ(it.scanned_blocks(), it.total_blocks());
    return out;
  }
};

TEST_F(ChangeIteratorTest, StreamsExactlyTheBlocksNewerThanTheCheckpoint) {
  auto v = NewVolume("v");
  for (uint64_t seq = 1; seq <= 100; seq++) {
    ASSERT_TRUE(v->Write((seq * 37 % 1000) * 4096, Pattern(seq, 4096), seq).ok());
  }
  ASSERT_TRUE(v->Unmap((60 * 37 % 1000) * 4096, 4096, 101).ok());  // block of seq 60
  auto it = v->ChangedSince(90);
  ASSERT_TRUE(it.ok());
  auto changes = Drain(**it);
  ASSERT_EQ(changes.size(), 11u);  // seq 91..100 and the unmap
  for (uint64_t seq = 91; seq <= 100; seq++) {
    auto& c = changes.at(seq * 37 % 1000);
    EXPECT_EQ(c.io_seq, seq);
    EXPECT_FALSE(c.unmapped);
    ASSERT_TRUE(c.status.ok());
    EXPECT_TRUE(std::equal(c.data.data(), c.data.data() + 4096, Pattern(seq, 4096).begin()));
  }
  EXPECT_TRUE(changes.at(60 * 37 % 1000).unmapped);
  EXPECT_EQ(changes.at(60 * 37 % 1000).io_seq, 101u);
}

// A live rebuild receives every write from its floor on: the stream leaves out the blocks
// whose version is at or above `below` (an unmap too), and keeps the older ones.
TEST_F(ChangeIteratorTest, LeavesOutVersionsAtOrAboveTheBound) {
  auto v = NewVolume("v");
  for (uint64_t seq = 1; seq <= 100; seq++) {
    ASSERT_TRUE(v->Write((seq * 37 % 1000) * 4096, Pattern(seq, 4096), seq).ok());
  }
  ASSERT_TRUE(v->Unmap((90 * 37 % 1000) * 4096, 4096, 101).ok());  // block of seq 90
  auto it = v->ChangedSince(80, "", {.below = 96});
  ASSERT_TRUE(it.ok());
  auto changes = Drain(**it);
  std::set<uint64_t> seqs;
  for (const auto& [lba, c] : changes) seqs.insert(c.io_seq);
  std::set<uint64_t> want;
  for (uint64_t seq = 81; seq <= 95; seq++) want.insert(seq);
  want.erase(90);
  EXPECT_EQ(seqs, want);
}

TEST_F(ChangeIteratorTest, StartsAtABlockAndCanLeaveTheDataOut) {
  auto v = NewVolume("v");
  for (uint64_t b = 0; b < 50; b++) ASSERT_TRUE(v->Write(b * 4096, Pattern(b, 4096), b + 1).ok());
  auto it = v->ChangedSince(10, "", {.start_block = 30, .with_data = false});
  ASSERT_TRUE(it.ok());
  auto changes = Drain(**it);
  ASSERT_EQ(changes.size(), 20u);  // blocks 30..49, all newer than 10
  for (const auto& [lba, c] : changes) {
    EXPECT_GE(lba, 30u);
    EXPECT_EQ(c.io_seq, lba + 1);
    EXPECT_TRUE(c.status.ok());
    EXPECT_EQ(c.data.size(), 0u);
  }
}

TEST_F(ChangeIteratorTest, ApplyingAStreamRebuildsAStaleCopyAndNewerWins) {
  auto src = NewVolume("src");
  auto dst = NewVolume("dst");
  // Both start equal up to seq 20.
  for (uint64_t seq = 1; seq <= 20; seq++) {
    for (auto* v : {src.get(), dst.get()}) {
      ASSERT_TRUE(v->Write(seq * 4096, Pattern(seq, 4096), seq).ok());
    }
  }
  // dst misses 21..40; meanwhile it already got the newer write 41 to block 25.
  for (uint64_t seq = 21; seq <= 40; seq++) {
    ASSERT_TRUE(src->Write(seq * 4096, Pattern(seq, 4096), seq).ok());
  }
  ASSERT_TRUE(src->Unmap(3 * 4096, 4096, 40).ok());  // no io_seq reuse in real life; fine
  ASSERT_TRUE(src->Write(25 * 4096, Pattern(41, 4096), 41).ok());
  ASSERT_TRUE(dst->Write(25 * 4096, Pattern(41, 4096), 41).ok());
  ASSERT_TRUE(dst->Write(26 * 4096, Pattern(42, 4096), 42).ok());  // newer than src's 26

  auto it = src->ChangedSince(20);
  ASSERT_TRUE(it.ok());
  int applied = 0, skipped = 0;
  while (true) {
    auto batch = (*it)->Next(5);
    ASSERT_TRUE(batch.ok());
    if (batch->empty()) break;
    for (auto& c : *batch) {
      auto r = dst->ApplyChange(c);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      (*r ? applied : skipped)++;
    }
  }
  EXPECT_EQ(applied, 19);  // 21..40 except 25 and 26 (dst newer), plus the unmap of 3
  EXPECT_EQ(skipped, 2);
  for (uint64_t b = 1; b <= 40; b++) {
    if (b == 26) continue;
    EXPECT_EQ(ReadBytes(*dst, b * 4096, 4096), ReadBytes(*src, b * 4096, 4096)) << b;
  }
  EXPECT_EQ(ReadBytes(*dst, 26 * 4096, 4096), Pattern(42, 4096));
  EXPECT_TRUE(testing::IsZero(ReadBytes(*dst, 3 * 4096, 4096)));
  ExpectConsistent();
}

TEST_F(ChangeIteratorTest, SnapshotStreamsSeeTheSnapshotNotTheLiveVolume) {
  auto v = NewVolume("v");
  for (uint64_t seq = 1; seq <= 10; seq++) {
    ASSERT_TRUE(v->Write(seq * 4096, Pattern(seq, 4096), seq).ok());
  }
  ASSERT_TRUE(v->CreateSnapshot("s").ok());
  for (uint64_t seq = 11; seq <= 20; seq++) {  // overwrite blocks 1..10
    ASSERT_TRUE(v->Write((seq - 10) * 4096, Pattern(seq, 4096), seq).ok());
  }
  auto it = v->ChangedSince(5, "s");
  ASSERT_TRUE(it.ok());
  auto changes = Drain(**it);
  ASSERT_EQ(changes.size(), 5u);
  for (uint64_t seq = 6; seq <= 10; seq++) {
    auto& c = changes.at(seq);
    EXPECT_EQ(c.io_seq, seq);
    EXPECT_TRUE(std::equal(c.data.data(), c.data.data() + 4096, Pattern(seq, 4096).begin()));
  }
  auto live = v->ChangedSince(15);
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(Drain(**live).size(), 5u);
  EXPECT_TRUE(v->ChangedSince(0, "nope").status().Is(Code::kNotFound));
}

// The snapshot view merges live and held versions; a batch must not skip blocks that one
// of the two lists had not reached yet (a bug found in review).
TEST_F(ChangeIteratorTest, SnapshotStreamMissesNothingWhenHeldVersionsAreSparse) {
  auto v = NewVolume("v");
  for (uint64_t lba = 0; lba < 200; lba++) {
    ASSERT_TRUE(v->Write(lba * 4096, Pattern(lba, 4096), lba + 1).ok());
  }
  ASSERT_TRUE(v->Write(1000 * 4096, Pattern(1000, 4096), 201).ok());
  ASSERT_TRUE(v->CreateSnapshot("s").ok());
  ASSERT_TRUE(v->Write(1000 * 4096, Pattern(2000, 4096), 300).ok());  // one held version
  auto it = v->ChangedSince(64, "s");
  ASSERT_TRUE(it.ok());
  auto changes = Drain(**it, 64);
  EXPECT_EQ(changes.size(), 200u - 64u + 1u);  // io_seq 65..200, and block 1000 at 201
  for (uint64_t lba = 64; lba < 200; lba++) EXPECT_TRUE(changes.contains(lba)) << lba;
  EXPECT_EQ(changes.at(1000).io_seq, 201u);
}

TEST_F(ChangeIteratorTest, CorruptSourceBlockIsReportedAndTheStreamGoesOn) {
  auto v = NewVolume("v");
  for (uint64_t seq = 1; seq <= 3; seq++) {
    ASSERT_TRUE(v->Write(seq * 4096, Pattern(seq, 4096), seq).ok());
  }
  ASSERT_TRUE(v->Flush().ok());
  testing::CorruptBlock(env_, "/pool/dev0.img", *v, 2, 100, 8);
  auto it = v->ChangedSince(0);
  ASSERT_TRUE(it.ok());
  auto changes = Drain(**it);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_TRUE(changes.at(1).status.ok());
  EXPECT_TRUE(changes.at(2).status.Is(Code::kCorruption));
  EXPECT_TRUE(changes.at(3).status.ok());
}

}  // namespace
}  // namespace cstor::engine
