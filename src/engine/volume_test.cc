#include <gtest/gtest.h>

#include <thread>

#include "engine/engine_test_util.h"

namespace cstor::engine {
namespace {

using testing::IsZero;
using testing::Pattern;
using testing::ReadBytes;

class VolumeTest : public testing::PoolFixture {};

TEST_F(VolumeTest, WrittenDataReadsBackAndHolesReadZero) {
  auto v = NewVolume("v");
  auto data = Pattern(1, 8192);
  ASSERT_TRUE(v->Write(4096, data, 1).ok());
  EXPECT_EQ(ReadBytes(*v, 4096, 8192), data);
  EXPECT_TRUE(IsZero(ReadBytes(*v, 0, 4096)));
  EXPECT_TRUE(IsZero(ReadBytes(*v, 12288, 4096)));
  EXPECT_EQ(v->Info().allocated_bytes, 8192u);
}

TEST_F(VolumeTest, SectorGranularWritesReadModifyWrite) {
  auto v = NewVolume("v");
  std::vector<std::byte> model(64 * 1024);
  Random rng(7);
  for (int i = 0; i < 200; i++) {
    uint64_t off = rng.Uniform(model.size() / 512) * 512;
    uint64_t len = std::min<uint64_t>(rng.Range(1, 24) * 512, model.size() - off);
    auto data = Pattern(100 + i, len);
    ASSERT_TRUE(v->Write(off, data, i + 1).ok());
    std::copy(data.begin(), data.end(), model.begin() + off);
  }
  EXPECT_EQ(ReadBytes(*v, 0, model.size()), model);
  // Unaligned reads inside blocks.
  EXPECT_EQ(ReadBytes(*v, 1536, 1024),
            std::vector<std::byte>(model.begin() + 1536, model.begin() + 2560));
  ExpectConsistent();
}

TEST_F(VolumeTest, LargeUnalignedIoSpansChunks) {
  auto v = NewVolume("v");
  auto data = Pattern(3, 3 * 1024 * 1024 + 1024);
  ASSERT_TRUE(v->Write(512, data, 1).ok());
  EXPECT_EQ(ReadBytes(*v, 512, data.size()), data);
}

TEST_F(VolumeTest, RejectsMisalignedAndOutOfRangeIo) {
  auto v = NewVolume("v", 1 << 20);
  std::vector<std::byte> buf(4096);
  EXPECT_TRUE(v->Write(100, buf).Is(Code::kInvalidArgument));
  EXPECT_TRUE(v->Read(0, std::span(buf).subspan(0, 100)).Is(Code::kInvalidArgument));
  EXPECT_TRUE(v->Write((1 << 20) - 2048, buf).Is(Code::kOutOfRange));
  EXPECT_TRUE(v->Read(1 << 20, std::span(buf).subspan(0, 512)).Is(Code::kOutOfRange));
  EXPECT_TRUE(v->Unmap(0, (2 << 20)).Is(Code::kOutOfRange));
  EXPECT_TRUE(v->Write(1 << 20, {}).ok());  // empty at the very end is fine
}

TEST_F(VolumeTest, UnmapReadsZerosAndReturnsSpace) {
  auto v = NewVolume("v");
  auto data = Pattern(5, 1 << 20);
  ASSERT_TRUE(v->Write(0, data, 1).ok());
  ASSERT_TRUE(pool_->Flush().ok());
  uint64_t used = pool_->Stats().used_bytes;
  // Whole blocks [4 KiB, 1 MiB - 4 KiB) plus partial edges.
  ASSERT_TRUE(v->Unmap(1024, (1 << 20) - 2048, 2).ok());
  ASSERT_TRUE(pool_->Flush().ok());
  auto after = ReadBytes(*v, 0, 1 << 20);
  EXPECT_EQ(std::vector<std::byte>(after.begin(), after.begin() + 1024),
            std::vector<std::byte>(data.begin(), data.begin() + 1024));
  EXPECT_TRUE(IsZero(std::vector<std::byte>(after.begin() + 1024, after.end() - 1024)));
  EXPECT_EQ(std::vector<std::byte>(after.end() - 1024, after.end()),
            std::vector<std::byte>(data.end() - 1024, data.end()));
  EXPECT_LT(pool_->Stats().used_bytes, used - (900 << 10));
  EXPECT_EQ(v->Info().allocated_bytes, 2 * 4096u);  // the two partly kept edge blocks
  ExpectConsistent();
}

TEST_F(VolumeTest, GrowKeepsDataAndRefusesShrink) {
  auto v = NewVolume("v", 1 << 20);
  auto data = Pattern(9, 4096);
  ASSERT_TRUE(v->Write(0, data).ok());
  ASSERT_TRUE(v->Grow(4 << 20).ok());
  EXPECT_EQ(v->size(), 4u << 20);
  ASSERT_TRUE(v->Write((4 << 20) - 4096, data).ok());
  EXPECT_TRUE(v->Grow(2 << 20).Is(Code::kInvalidArgument));
  EXPECT_TRUE(v->Grow((4 << 20) + 512).Is(Code::kInvalidArgument));  // not block-aligned
  Reopen();
  auto again = *pool_->OpenVolume("v");
  EXPECT_EQ(again->size(), 4u << 20);
  EXPECT_EQ(ReadBytes(*again, (4 << 20) - 4096, 4096), data);
}

TEST_F(VolumeTest, DataAndCheckpointSurviveReopen) {
  auto v = NewVolume("v");
  for (uint64_t seq = 1; seq <= 50; seq++) {
    ASSERT_TRUE(v->Write(seq * 8192, Pattern(seq, 4096), seq).ok());
  }
  ASSERT_TRUE(v->Flush().ok());
  EXPECT_EQ(v->CheckpointedIoSeq(), 50u);
  Reopen();
  auto again = *pool_->OpenVolume("v");
  EXPECT_EQ(again->CheckpointedIoSeq(), 50u);
  for (uint64_t seq = 1; seq <= 50; seq++) {
    EXPECT_EQ(ReadBytes(*again, seq * 8192, 4096), Pattern(seq, 4096));
  }
  ExpectConsistent();
}

TEST_F(VolumeTest, LargeBlockSizes) {
  auto v = NewVolume("big", 8 << 20, 64 * 1024);
  std::vector<std::byte> model(1 << 20);
  Random rng(11);
  for (int i = 0; i < 50; i++) {
    uint64_t off = rng.Uniform(model.size() / 512) * 512;
    uint64_t len = std::min<uint64_t>(rng.Range(1, 300) * 512, model.size() - off);
    auto data = Pattern(i, len);
    ASSERT_TRUE(v->Write(off, data).ok());
    std::copy(data.begin(), data.end(), model.begin() + off);
  }
  EXPECT_EQ(ReadBytes(*v, 0, model.size()), model);
  Reopen();
  EXPECT_EQ(ReadBytes(**pool_->OpenVolume("big"), 0, model.size()), model);
  ExpectConsistent();
}

TEST_F(VolumeTest, ConcurrentWritersAndReaders) {
  auto v = NewVolume("v", 8 << 20);
  constexpr int kThreads = 4, kOps = 300;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      Random rng(t);
      // Each thread owns a 1 MiB region; all threads also read one shared block range.
      uint64_t base = t * (1 << 20);
      std::vector<std::byte> model(1 << 20);
      for (int i = 0; i < kOps; i++) {
        uint64_t off = rng.Uniform(256) * 4096 + rng.Uniform(8) * 512;
        uint64_t len = std::min<uint64_t>(rng.Range(1, 16) * 512, model.size() - off);
        auto data = Pattern(t * 100000 + i, len);
        if (!v->Write(base + off, data).ok()) failures++;
        std::copy(data.begin(), data.end(), model.begin() + off);
        std::vector<std::byte> shared(8192);
        if (!v->Read(7 << 20, shared).ok()) failures++;
      }
      std::vector<std::byte> back(model.size());
      if (!v->Read(base, back).ok() || back != model) failures++;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  ExpectConsistent();
}

TEST_F(VolumeTest, OverlappingConcurrentWritesLeaveOneWholeVersionPerBlock) {
  auto v = NewVolume("v", 1 << 20);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; i++) {
        std::vector<std::byte> block(4096, std::byte(t + 1));
        EXPECT_TRUE(v->Write((i % 8) * 4096, block).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int b = 0; b < 8; b++) {
    auto data = ReadBytes(*v, b * 4096, 4096);
    for (auto byte : data) EXPECT_EQ(byte, data[0]);  // never a mix of two writes
  }
  ExpectConsistent();
}

TEST_F(VolumeTest, NamesAndGeometryAreValidated) {
  EXPECT_TRUE(pool_->CreateVolume("", 1 << 20).status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(pool_->CreateVolume("a/b", 1 << 20).status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(pool_->CreateVolume("-x", 1 << 20).status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(pool_->CreateVolume("v", 0).status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(pool_->CreateVolume("v", 1000).status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(pool_->CreateVolume("v", 1 << 20, 2048).status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(pool_->CreateVolume("v", 1 << 20, 12288).status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(pool_->CreateVolume("v", 1 << 20, 256 << 10).status().Is(Code::kInvalidArgument));
  ASSERT_TRUE(pool_->CreateVolume("pvc-1.data_x", 1 << 20).ok());
  EXPECT_TRUE(pool_->CreateVolume("pvc-1.data_x", 1 << 20).status().Is(Code::kAlreadyExists));
  EXPECT_TRUE(pool_->OpenVolume("nope").status().Is(Code::kNotFound));
  EXPECT_TRUE(pool_->DeleteVolume("nope").Is(Code::kNotFound));
}

TEST_F(VolumeTest, DeleteFreesEverythingAndNameIsReusable) {
  auto v = NewVolume("v");
  ASSERT_TRUE(v->Write(0, Pattern(1, 1 << 20)).ok());
  ASSERT_TRUE(v->CreateSnapshot("s").ok());
  ASSERT_TRUE(v->Write(0, Pattern(2, 1 << 20)).ok());
  ASSERT_TRUE(pool_->DeleteVolume("v").ok());
  std::vector<std::byte> buf(512);
  EXPECT_TRUE(v->Read(0, buf).Is(Code::kNotFound));
  ASSERT_TRUE(pool_->Flush().ok());
  EXPECT_EQ(pool_->Stats().used_bytes, 0u);
  auto again = NewVolume("v");
  EXPECT_TRUE(IsZero(ReadBytes(*again, 0, 8192)));
  ExpectConsistent();
}

}  // namespace
}  // namespace cstor::engine
