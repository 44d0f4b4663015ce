// The engine features the replication layer relies on: newer-wins writes, rebuild applies
// with a live-write floor, removal of a block's own version, point reads of a version, and
// holding the checkpoint while a replica is rebuilt.
#include <gtest/gtest.h>

#include <thread>

#include "engine/engine_test_util.h"

namespace cstor::engine {
namespace {

using testing::IsZero;
using testing::Pattern;
using testing::ReadBytes;

class ReplicationSupportTest : public testing::PoolFixture {
 protected:
  BlockChange Change(uint64_t lba, uint64_t seq, uint64_t pattern) {
    BlockChange c;
    c.lba = lba;
    c.io_seq = seq;
    c.data = AlignedBuffer(4096);
    auto p = Pattern(pattern, 4096);
    std::memcpy(c.data.data(), p.data(), 4096);
    return c;
  }
};

TEST_F(ReplicationSupportTest, NewerOnlyWritesIgnoreOlderArrivals) {
  auto v = NewVolume("v");
  // Two writes to blocks 0..1 arrive out of order: seq 5 after seq 7.
  ASSERT_TRUE(v->Write(0, Pattern(7, 8192), 7, /*newer_only=*/true).ok());
  ASSERT_TRUE(v->Write(0, Pattern(5, 8192), 5, /*newer_only=*/true).ok());
  EXPECT_EQ(ReadBytes(*v, 0, 8192), Pattern(7, 8192));
  // A wider older write only lands where nothing newer is.
  ASSERT_TRUE(v->Write(0, Pattern(4, 16384), 4, /*newer_only=*/true).ok());
  auto got = ReadBytes(*v, 0, 16384);
  auto older = Pattern(4, 16384);
  EXPECT_TRUE(std::equal(got.begin(), got.begin() + 8192, Pattern(7, 8192).begin()));
  EXPECT_TRUE(std::equal(got.begin() + 8192, got.end(), older.begin() + 8192));
  // Unmaps follow the same rule (and an equal io_seq is not newer).
  ASSERT_TRUE(v->Unmap(0, 16384, 4, /*newer_only=*/true).ok());
  EXPECT_EQ(ReadBytes(*v, 0, 16384), got);
  ASSERT_TRUE(v->Unmap(0, 16384, 6, /*newer_only=*/true).ok());
  got = ReadBytes(*v, 0, 16384);
  EXPECT_TRUE(std::equal(got.begin(), got.begin() + 8192, Pattern(7, 8192).begin()));
  EXPECT_TRUE(IsZero(std::vector<std::byte>(got.begin() + 8192, got.end())));
  // Without newer_only the last write wins whatever its io_seq.
  ASSERT_TRUE(v->Write(0, Pattern(1, 4096), 1).ok());
  EXPECT_EQ(ReadBytes(*v, 0, 4096), Pattern(1, 4096));
  ExpectConsistent();
}

TEST_F(ReplicationSupportTest, RebuildAppliesReplaceAnythingBelowTheFloor) {
  auto v = NewVolume("v");
  ASSERT_TRUE(v->Write(0, Pattern(1, 4096), 50).ok());      // a stale tail write
  ASSERT_TRUE(v->Write(4096, Pattern(2, 4096), 120).ok());  // a live write (floor 100)
  // The source's older version replaces the tail write even though its io_seq is lower.
  auto r = v->ApplyChange(Change(0, 40, 3), /*keep_at=*/100);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
  EXPECT_EQ(ReadBytes(*v, 0, 4096), Pattern(3, 4096));
  // ... but never a live write.
  r = v->ApplyChange(Change(1, 90, 4), 100);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_EQ(ReadBytes(*v, 4096, 4096), Pattern(2, 4096));
  // Default: newer wins.
  EXPECT_FALSE(*v->ApplyChange(Change(0, 39, 5)));
  EXPECT_TRUE(*v->ApplyChange(Change(0, 41, 5)));
  ExpectConsistent();
}

TEST_F(ReplicationSupportTest, AbsentChangeRemovesTheBlocksOwnVersion) {
  auto v = NewVolume("v");
  ASSERT_TRUE(v->Write(0, Pattern(1, 8192), 1).ok());
  ASSERT_TRUE(v->CreateSnapshot("s").ok());
  auto c = *pool_->CloneVolume("c", "v", "s");
  ASSERT_TRUE(c->Write(0, Pattern(2, 4096), 10).ok());  // the clone's own version
  BlockChange gone;
  gone.lba = 0;
  gone.absent = true;
  auto r = c->ApplyChange(gone, 100);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(*r);
  // With its own version gone, the clone shows its origin's data again (not zeros).
  auto orig = Pattern(1, 8192);
  orig.resize(4096);
  EXPECT_EQ(ReadBytes(*c, 0, 4096), orig);
  auto version = c->ReadVersion(0);
  ASSERT_TRUE(version.ok());
  EXPECT_TRUE(version->absent);
  ASSERT_TRUE(pool_->Flush().ok());
  EXPECT_EQ(ReadBytes(*c, 0, 4096), orig);
  EXPECT_EQ(c->Info().allocated_bytes, 0u);
  Reopen();
  EXPECT_EQ(ReadBytes(**pool_->OpenVolume("c"), 0, 4096), orig);
  ExpectConsistent();
}

TEST_F(ReplicationSupportTest, ReadVersionReportsDataUnmapsAndSnapshots) {
  auto v = NewVolume("v");
  ASSERT_TRUE(v->Write(0, Pattern(1, 4096), 3).ok());
  ASSERT_TRUE(v->CreateSnapshot("s").ok());
  ASSERT_TRUE(v->Unmap(0, 4096, 4).ok());
  auto live = v->ReadVersion(0);
  ASSERT_TRUE(live.ok());
  EXPECT_TRUE(live->unmapped);
  EXPECT_EQ(live->io_seq, 4u);
  auto snap = v->ReadVersion(0, "s");
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->io_seq, 3u);
  EXPECT_TRUE(std::equal(snap->data.data(), snap->data.data() + 4096, Pattern(1, 4096).begin()));
  EXPECT_TRUE(v->ReadVersion(1)->absent);
  EXPECT_TRUE(v->ReadVersion(1 << 30).status().Is(Code::kOutOfRange));
}

TEST_F(ReplicationSupportTest, HeldCheckpointDoesNotAdvanceUntilReleased) {
  auto v = NewVolume("v");
  ASSERT_TRUE(v->Write(0, Pattern(1, 4096), 10).ok());
  ASSERT_TRUE(v->Flush().ok());
  EXPECT_EQ(v->CheckpointedIoSeq(), 10u);
  v->HoldCheckpoint(10);
  ASSERT_TRUE(v->Write(4096, Pattern(2, 4096), 20).ok());
  ASSERT_TRUE(v->Flush().ok());
  EXPECT_EQ(v->CheckpointedIoSeq(), 10u);
  EXPECT_EQ(v->Info().max_io_seq, 20u);
  Reopen();  // a crash or restart while held keeps the held value
  v = *pool_->OpenVolume("v");
  EXPECT_EQ(v->CheckpointedIoSeq(), 10u);
  v->HoldCheckpoint(10);
  ASSERT_TRUE(v->Write(8192, Pattern(3, 4096), 30).ok());
  v->HoldCheckpoint(std::nullopt);
  ASSERT_TRUE(v->Flush().ok());
  EXPECT_EQ(v->CheckpointedIoSeq(), 30u);
}

// A stamped write that fails may have landed in part; the checkpoint must not pass it
// until a rebuild (releasing the hold) says the volume is whole again.
TEST_F(ReplicationSupportTest, FailedStampedWriteCapsTheCheckpoint) {
  auto v = NewVolume("v", 128 << 20);
  ASSERT_TRUE(v->Write(0, Pattern(1, 4096), 4).ok());
  // Fill the pool so that the next large write fails for lack of space.
  uint64_t off = 1 << 20;
  while (v->Write(off, Pattern(off, 1 << 20), 0).ok()) off += 1 << 20;
  EXPECT_FALSE(v->Write(off, Pattern(2, 1 << 20), 5).ok());
  ASSERT_TRUE(v->Unmap(1 << 20, 8 << 20, 6).ok());  // a later io succeeds
  ASSERT_TRUE(v->Flush().ok());
  EXPECT_EQ(v->CheckpointedIoSeq(), 4u);
  v->HoldCheckpoint(std::nullopt);
  ASSERT_TRUE(v->Flush().ok());
  EXPECT_EQ(v->CheckpointedIoSeq(), 6u);
}

TEST_F(ReplicationSupportTest, CloseWaitsForIoAndRefusesLaterIo) {
  auto v = NewVolume("v");
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, refused{0}, other{0};
  std::thread writer([&] {
    for (uint64_t i = 0; !stop; i++) {
      Status s = v->Write((i % 64) * 4096, Pattern(i, 4096), i + 1);
      if (s.ok()) {
        ok++;
      } else if (s.Is(Code::kFailedPrecondition)) {
        refused++;
      } else {
        other++;
      }
    }
  });
  while (ok < 50) std::this_thread::yield();
  ASSERT_TRUE(pool_->Close().ok());
  EXPECT_TRUE(pool_->Flush().Is(Code::kFailedPrecondition));
  while (refused == 0) std::this_thread::yield();
  stop = true;
  writer.join();
  EXPECT_EQ(other.load(), 0);
  Reopen();
  ExpectConsistent();
}

// After a crash only the persisted checkpoint vouches for what survived: the checkpoint
// must not jump to the highest io_seq committed when a lower one was lost in flight.
TEST_F(ReplicationSupportTest, CheckpointAfterReopenDoesNotCoverLostWrites) {
  auto v = NewVolume("v");
  ASSERT_TRUE(v->Write(0, Pattern(1, 4096), 10).ok());
  ASSERT_TRUE(v->Flush().ok());
  v->AnnounceIo(11);  // received, waiting behind something, never applied
  ASSERT_TRUE(v->Write(4096, Pattern(2, 4096), 12).ok());
  ASSERT_TRUE(v->Flush().ok());
  EXPECT_EQ(v->CheckpointedIoSeq(), 10u);
  EXPECT_EQ(v->Info().max_io_seq, 12u);
  Reopen();  // 11 is gone
  v = *pool_->OpenVolume("v");
  ASSERT_TRUE(v->Write(16384, Pattern(4, 4096), 0).ok());  // unstamped activity: a commit
  ASSERT_TRUE(v->Flush().ok());
  EXPECT_EQ(v->CheckpointedIoSeq(), 10u);
  ASSERT_TRUE(v->Write(8192, Pattern(3, 4096), 13).ok());
  ASSERT_TRUE(v->Flush().ok());
  EXPECT_EQ(v->CheckpointedIoSeq(), 13u);  // a new write moves it (a rebuild holds it)
}

TEST_F(ReplicationSupportTest, AttributesPersistAndGoWithTheVolume) {
  auto v = NewVolume("v");
  ASSERT_TRUE(v->SetAttribute("snapshot-epoch", "7").ok());
  EXPECT_EQ(v->GetAttribute("snapshot-epoch"), "7");
  EXPECT_FALSE(v->GetAttribute("other").has_value());
  EXPECT_TRUE(v->SetAttribute("", "x").Is(Code::kInvalidArgument));
  Reopen();
  v = *pool_->OpenVolume("v");
  EXPECT_EQ(v->GetAttribute("snapshot-epoch"), "7");
  ASSERT_TRUE(v->SetAttribute("snapshot-epoch", "").ok());
  EXPECT_FALSE(v->GetAttribute("snapshot-epoch").has_value());
  ASSERT_TRUE(v->SetAttribute("a", "1").ok());
  ASSERT_TRUE(pool_->DeleteVolume("v").ok());
  auto again = NewVolume("v");
  EXPECT_FALSE(again->GetAttribute("a").has_value());
  ExpectConsistent();
}

}  // namespace
}  // namespace cstor::engine
