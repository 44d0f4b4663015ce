#include "engine/format.h"

#include <gtest/gtest.h>

namespace cstor::engine {
namespace {

TEST(FormatTest, BlockKeysSortByVolumeThenLba) {
  EXPECT_LT(keys::Block(1, 255), keys::Block(1, 256));
  EXPECT_LT(keys::Block(1, UINT64_MAX), keys::Block(2, 0));
  uint64_t v, lba;
  ASSERT_TRUE(keys::ParseBlock(keys::Block(7, 1234567), &v, &lba));
  EXPECT_EQ(v, 7u);
  EXPECT_EQ(lba, 1234567u);
  EXPECT_FALSE(keys::ParseBlock(keys::Volume(7), &v, &lba));
  EXPECT_EQ(keys::PrefixEnd("B\x01\xff\xff"), "B\x02");
}

TEST(FormatTest, RecordsRoundTrip) {
  BlockRecord b{{3, 123456789}, 42, 7, 0xdeadbeef, false};
  EXPECT_EQ(*DecodeBlock(EncodeBlock(b)), b);
  char value[kBlockValueSize];
  EncodeBlockValue(b, value);
  EXPECT_EQ(std::string(value, sizeof(value)), EncodeBlock(b));
  char key[kBlockKeySize];
  EncodeBlockKey(5, 77, key);
  EXPECT_EQ(std::string(key, sizeof(key)), keys::Block(5, 77));
  OldRecord o{b, 9};
  auto o2 = *DecodeOld(EncodeOld(o));
  EXPECT_EQ(o2.rec, b);
  EXPECT_EQ(o2.kill, 9u);
  VolumeRecord vr{5, "pvc-1", 1 << 30, 8192, 11, 2, 3, LifeState::kDeleting};
  auto vr2 = *DecodeVolume(EncodeVolume(vr));
  EXPECT_EQ(vr2.name, "pvc-1");
  EXPECT_EQ(vr2.origin_gen, 3u);
  EXPECT_EQ(vr2.state, LifeState::kDeleting);
  SnapshotRecord s{5, 9, "snap", 1, 1 << 20, 100, 77, LifeState::kLive};
  EXPECT_EQ(DecodeSnapshot(EncodeSnapshot(s))->io_seq, 77u);
  VolumeCounters c{10, 20, 30, 40};
  EXPECT_EQ(DecodeCounters(EncodeCounters(c))->held_blocks, 30u);
  KillRecord k{4, {1, 2}, true};
  EXPECT_EQ(DecodeKill(EncodeKill(k))->phys, (PhysAddr{1, 2}));
}

TEST(FormatTest, DamagedRecordsAreCorruptionNotCrashes) {
  std::string good = EncodeBlock({});
  EXPECT_TRUE(DecodeBlock("").status().Is(Code::kCorruption));
  EXPECT_TRUE(DecodeBlock(good.substr(0, good.size() - 1)).status().Is(Code::kCorruption));
  std::string future = good;
  future[0] = 9;
  EXPECT_TRUE(DecodeBlock(future).status().Is(Code::kCorruption));
}

TEST(FormatTest, PoolRecordRefusesOtherFormatVersions) {
  std::string rec = EncodePool({});
  rec[1] = 2;  // format version field follows the record version byte
  auto r = DecodePool(rec);
  EXPECT_TRUE(r.status().Is(Code::kFailedPrecondition));
  EXPECT_NE(r.status().message().find("not supported"), std::string::npos);
}

TEST(FormatTest, LabelDetectsDamage) {
  Guid g{};
  g[0] = 0xab;
  std::string label = EncodeLabel({g, 2, 1 << 30});
  ASSERT_EQ(label.size(), kDeviceLabelSize);
  auto back = DecodeLabel(label);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->device_index, 2u);
  EXPECT_EQ(back->pool_guid, g);
  label[20] ^= 1;
  EXPECT_TRUE(DecodeLabel(label).status().Is(Code::kCorruption));
  EXPECT_TRUE(DecodeLabel(std::string(4096, '\0')).status().Is(Code::kNotFound));
}

}  // namespace
}  // namespace cstor::engine
