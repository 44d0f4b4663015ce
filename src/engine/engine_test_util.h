// Helpers shared by the engine's tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "base/random.h"
#include "engine/pool.h"
#include "env/mem_env.h"

namespace cstor::engine::testing {

// Deterministic bytes for (seed, size).
inline std::vector<std::byte> Pattern(uint64_t seed, size_t size) {
  Random rng(seed);
  std::vector<std::byte> out(size);
  for (size_t i = 0; i < size; i += 8) {
    uint64_t v = rng.Next();
    std::memcpy(out.data() + i, &v, std::min<size_t>(8, size - i));
  }
  return out;
}

// A test size from the environment, e.g. CSTOR_CRASH_SEEDS.
inline uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : fallback;
}

// Overwrites n bytes, at `within` bytes into block lba's data on the device file, with
// garbage in both the written and the durable image of a MemEnv.
inline void CorruptBlock(MemEnv& env, const std::string& device_path, Volume& v, uint64_t lba,
                         uint64_t within, size_t n) {
  uint64_t unit = UINT64_MAX;
  ASSERT_TRUE(v.ForEachBlock([&](uint64_t l, const BlockRecord& r) {
    if (l == lba) unit = r.phys.unit;
    return l < lba;
  }).ok());
  ASSERT_NE(unit, UINT64_MAX) << "block " << lba << " has no data";
  Random rng(lba);
  ASSERT_TRUE(env.CorruptBytes(device_path, kDeviceDataOffset + unit * kUnitSize + within, n, rng)
                  .ok());
}

inline std::vector<std::byte> ReadBytes(Volume& v, uint64_t offset, size_t n) {
  std::vector<std::byte> out(n);
  Status s = v.Read(offset, out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

inline bool IsZero(const std::vector<std::byte>& v) {
  for (auto b : v) {
    if (b != std::byte{0}) return false;
  }
  return true;
}

// A pool on a MemEnv, with options small enough to exercise commits and flushes.
class PoolFixture : public ::testing::Test {
 protected:
  static constexpr const char* kDir = "/pool";

  virtual uint64_t DeviceSize() { return 64 << 20; }
  PoolOptions Options() {
    PoolOptions o;
    o.env = &env_;
    o.block_cache_bytes = 1 << 20;
    o.meta_write_buffer_bytes = 256 << 10;
    o.max_epoch_blocks = 256;
    o.commit_interval_micros = 50'000;
    return o;
  }
  void SetUp() override {
    auto pool = Pool::Create(kDir, {{"dev0.img", DeviceSize()}}, Options());
    ASSERT_TRUE(pool.ok()) << pool.status().ToString();
    pool_ = std::move(*pool);
  }
  void Reopen() {
    pool_.reset();
    auto pool = Pool::Open(kDir, Options());
    ASSERT_TRUE(pool.ok()) << pool.status().ToString();
    pool_ = std::move(*pool);
  }
  std::shared_ptr<Volume> NewVolume(const std::string& name, uint64_t size = 16 << 20,
                                    uint32_t block_size = 4096) {
    auto v = pool_->CreateVolume(name, size, block_size);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : nullptr;
  }
  void ExpectConsistent() {
    auto report = pool_->Check();
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    for (const auto& p : report->problems) ADD_FAILURE() << p;
  }

  MemEnv env_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace cstor::engine::testing
