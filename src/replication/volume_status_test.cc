#include "replication/volume_status.h"

#include <gtest/gtest.h>

namespace cstor::replication {
namespace {

TEST(VolumeStatusTest, RebuildProgressNeverShowsAMadeUpTotal) {
  ReplicaStatus r;
  r.mode = ReplicaMode::kRebuilding;
  EXPECT_EQ(RebuildProgressText(r), "estimating");  // not "0 B/0 B"
  r.rebuild_done_bytes = 3 << 20;
  r.rebuild_total_bytes = 12 << 20;
  EXPECT_EQ(RebuildProgressText(r), "3 MiB/12 MiB (25%)");
  r.rebuild_done_bytes = 13 << 20;  // a late estimate never reads past 100%
  EXPECT_EQ(RebuildProgressText(r), "12 MiB/12 MiB (100%)");
  r.mode = ReplicaMode::kHealthy;
  EXPECT_EQ(RebuildProgressText(r), "");
}

}  // namespace
}  // namespace cstor::replication
