#include "engine/allocator.h"

#include <gtest/gtest.h>

#include <set>

namespace cstor::engine {
namespace {

TEST(AllocatorTest, NextFitHandsOutContiguousRuns) {
  Allocator a({1000});
  auto e1 = a.Allocate(4, 1);
  auto e2 = a.Allocate(4, 1);
  ASSERT_TRUE(e1.ok() && e2.ok());
  ASSERT_EQ(e1->size(), 1u);
  EXPECT_EQ((*e1)[0], (Extent{0, 0, 4}));
  EXPECT_EQ((*e2)[0], (Extent{0, 4, 4}));  // sequential on the device
  EXPECT_EQ(a.used_units(), 8u);
}

TEST(AllocatorTest, FragmentedSpaceIsUsedInBlockMultiples) {
  Allocator a({64});
  auto all = a.Allocate(64, 1);
  ASSERT_TRUE(all.ok());
  // Free every other pair of units: runs of 2 free units.
  for (uint64_t u = 0; u < 64; u += 4) a.Release({0, u, 2});
  auto got = a.Allocate(8, 2);  // 8 blocks of 2 units each
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  uint64_t total = 0;
  for (const Extent& e : *got) {
    EXPECT_EQ(e.count % 2, 0u);
    EXPECT_EQ(e.unit % 4, 0u);
    total += e.count;
  }
  EXPECT_EQ(total, 16u);
  // Runs of 2 cannot hold a 4-unit block: no space, and nothing is taken.
  uint64_t used = a.used_units();
  a.Release({0, 0, 2});
  a.Release({0, 4, 2});
  EXPECT_TRUE(a.Allocate(1, 4).status().Is(Code::kNoSpace));
  EXPECT_EQ(a.used_units(), used - 4);
}

TEST(AllocatorTest, MultiBlockRequestsPreferOneRunOverSmallHoles) {
  Allocator a({256});
  ASSERT_TRUE(a.Allocate(256, 1).ok());
  for (uint64_t u = 0; u < 128; u += 2) a.Release({0, u, 1});  // 64 one-unit holes
  a.Release({0, 200, 16});                                       // one 16-unit run
  auto run = a.Allocate(8, 1);
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->size(), 1u);
  EXPECT_EQ((*run)[0], (Extent{0, 200, 8}));
  // Single blocks still fill holes.
  auto one = a.Allocate(1, 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ((*one)[0].count, 1u);
  // When no run is long enough, holes serve a big request.
  auto scattered = a.Allocate(20, 1);
  ASSERT_TRUE(scattered.ok());
  uint64_t total = 0;
  for (const Extent& e : *scattered) total += e.count;
  EXPECT_EQ(total, 20u);
  EXPECT_GT(scattered->size(), 1u);
}

TEST(AllocatorTest, NoSpaceLeavesStateUnchanged) {
  Allocator a({10});
  ASSERT_TRUE(a.Allocate(6, 1).ok());
  auto s = a.Allocate(5, 1);
  EXPECT_TRUE(s.status().Is(Code::kNoSpace));
  EXPECT_NE(s.status().message().find("no space"), std::string::npos);
  EXPECT_EQ(a.used_units(), 6u);
  EXPECT_TRUE(a.Allocate(4, 1).ok());
}

TEST(AllocatorTest, StripesAcrossDevices) {
  Allocator a({100, 100});
  auto e1 = a.Allocate(1, 1);
  auto e2 = a.Allocate(1, 1);
  ASSERT_TRUE(e1.ok() && e2.ok());
  EXPECT_NE((*e1)[0].device, (*e2)[0].device);
  // When one device is full the other serves.
  ASSERT_TRUE(a.Allocate(99, 1).ok());
  ASSERT_TRUE(a.Allocate(99, 1).ok());
  EXPECT_TRUE(a.Allocate(1, 1).status().Is(Code::kNoSpace));
}

TEST(AllocatorTest, PersistentViewRoundTripsThroughChunks) {
  Allocator a({5000});
  auto e = a.Allocate(3000, 1);
  ASSERT_TRUE(e.ok());
  for (const Extent& x : *e) a.SetPersistent(x, true);
  a.SetPersistent({0, 100, 50}, false);
  auto chunks = a.TakeDirtyChunks();
  EXPECT_EQ(chunks.size(), 2u);  // units 0..2999 touch chunks 0 and 1
  EXPECT_TRUE(a.TakeDirtyChunks().empty());

  Allocator b({5000});
  for (const auto& c : chunks) ASSERT_TRUE(b.LoadChunk(c.device, c.chunk, c.bits).ok());
  EXPECT_EQ(b.persistent_used_units(), 2950u);
  EXPECT_EQ(b.used_units(), 2950u);
  EXPECT_TRUE(b.PersistentIsSet(0, 99));
  EXPECT_FALSE(b.PersistentIsSet(0, 100));
  EXPECT_FALSE(b.PersistentIsSet(0, 3000));
  // The freed hole is found again.
  auto again = b.Allocate(50, 1);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(b.LoadChunk(7, 0, chunks[0].bits).Is(Code::kCorruption));
}

}  // namespace
}  // namespace cstor::engine
