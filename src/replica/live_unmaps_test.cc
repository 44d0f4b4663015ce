#include <gtest/gtest.h>

#include "replica/rebuild_job.h"

namespace cstor::replica {
namespace {

TEST(LiveUnmapsTest, NewerUnmapsReplaceWhatTheyOverlap) {
  LiveUnmaps u;
  u.Add(10, 20, 5);
  EXPECT_EQ(u.Covering(9), std::nullopt);
  EXPECT_EQ(u.Covering(10), 5u);
  EXPECT_EQ(u.Covering(19), 5u);
  EXPECT_EQ(u.Covering(20), std::nullopt);
  u.Add(14, 16, 7);  // inside: splits the older range in three
  EXPECT_EQ(u.Covering(13), 5u);
  EXPECT_EQ(u.Covering(14), 7u);
  EXPECT_EQ(u.Covering(15), 7u);
  EXPECT_EQ(u.Covering(16), 5u);
  EXPECT_EQ(u.ranges(), 3u);
  u.Add(5, 15, 9);  // over the head of both
  EXPECT_EQ(u.Covering(5), 9u);
  EXPECT_EQ(u.Covering(14), 9u);
  EXPECT_EQ(u.Covering(15), 7u);
  EXPECT_EQ(u.Covering(19), 5u);
  u.Add(0, 100, 11);  // over everything
  EXPECT_EQ(u.ranges(), 1u);
  EXPECT_EQ(u.Covering(99), 11u);
  u.Add(3, 3, 12);  // no whole block: nothing
  EXPECT_EQ(u.Covering(3), 11u);
}

TEST(LiveUnmapsTest, OnlyAnOlderCopyBecomesTheUnmap) {
  LiveUnmaps u;
  u.Add(4, 8, 50);
  wire::BlockVersion older;
  older.block = 5;
  older.io_seq = 40;
  older.data = std::string(4096, 'x');
  ApplyLiveUnmaps(u, older);
  EXPECT_TRUE(older.flags & wire::BlockVersion::kUnmapped);
  EXPECT_EQ(older.io_seq, 50u);
  EXPECT_TRUE(older.data.empty());

  wire::BlockVersion newer;
  newer.block = 5;
  newer.io_seq = 60;
  newer.data = std::string(4096, 'y');
  ApplyLiveUnmaps(u, newer);
  EXPECT_EQ(newer.io_seq, 60u);
  EXPECT_EQ(newer.data, std::string(4096, 'y'));

  wire::BlockVersion outside;
  outside.block = 8;
  outside.io_seq = 1;
  outside.data = std::string(4096, 'z');
  ApplyLiveUnmaps(u, outside);
  EXPECT_EQ(outside.data, std::string(4096, 'z'));
}

}  // namespace
}  // namespace cstor::replica
