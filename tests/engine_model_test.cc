// Long randomized test of the engine against an in-memory model: writes, unmaps,
// snapshots, clones, deletions, grows, flushes and clean reopens, over many seeds. Without
// crashes the engine must match the model exactly, and its metadata must stay consistent.
//
// Seeds: CSTOR_MODEL_SEEDS (default 40) from CSTOR_MODEL_SEED_BASE (default 0); each seed
// runs CSTOR_MODEL_OPS operations (default 400). A failure names its seed.
#include <gtest/gtest.h>

#include <map>

#include "engine/engine_test_util.h"

namespace cstor::engine {
namespace {

using testing::EnvOr;
using testing::Pattern;

struct ModelVolume {
  uint32_t block_size = 4096;
  std::vector<std::byte> data;
  std::map<std::string, std::vector<std::byte>> snapshots;
  std::string origin;  // "volume@snapshot"
};

class ModelTest : public ::testing::Test {
 protected:
  void RunSeed(uint64_t seed, uint64_t ops);
};

void ModelTest::RunSeed(uint64_t seed, uint64_t ops) {
  SCOPED_TRACE("seed " + std::to_string(seed) + " (rerun: CSTOR_MODEL_SEED_BASE=" +
               std::to_string(seed) + " CSTOR_MODEL_SEEDS=1)");
  Random rng(seed);
  MemEnv env(seed);
  PoolOptions opts;
  opts.env = &env;
  opts.block_cache_bytes = 256 << 10;
  opts.max_epoch_blocks = 64 + rng.Uniform(512);
  opts.commit_interval_micros = 5'000;
  opts.meta_write_buffer_bytes = 128 << 10;
  auto created = Pool::Create("/p", {{"d0", 48 << 20}, {"d1", 48 << 20}}, opts);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  std::unique_ptr<Pool> pool = std::move(*created);
  std::map<std::string, ModelVolume> model;
  int next_name = 0;

  auto pick = [&](auto& map) {
    auto it = map.begin();
    std::advance(it, rng.Uniform(map.size()));
    return it;
  };
  auto verify_volume = [&](const std::string& name, const ModelVolume& m) {
    auto v = pool->OpenVolume(name);
    ASSERT_TRUE(v.ok()) << name << ": " << v.status().ToString();
    ASSERT_EQ((*v)->size(), m.data.size()) << name;
    std::vector<std::byte> got(m.data.size());
    ASSERT_TRUE((*v)->Read(0, got).ok());
    ASSERT_TRUE(got == m.data) << "volume " << name << " differs from the model";
    for (const auto& [snap, image] : m.snapshots) {
      std::vector<std::byte> s(image.size());
      ASSERT_TRUE((*v)->ReadSnapshot(snap, 0, s).ok());
      ASSERT_TRUE(s == image) << "snapshot " << name << "@" << snap << " differs";
    }
  };

  for (uint64_t op = 0; op < ops; op++) {
    uint64_t kind = rng.Uniform(100);
    if (model.empty() || kind < 4) {
      std::string name = "v" + std::to_string(next_name++);
      uint32_t bs = std::array<uint32_t, 4>{4096, 4096, 16384, 131072}[rng.Uniform(4)];
      uint64_t size = bs * rng.Range(8, (2 << 20) / bs);
      ASSERT_TRUE(pool->CreateVolume(name, size, bs).ok());
      model[name] = {bs, std::vector<std::byte>(size), {}, ""};
      continue;
    }
    auto it = pick(model);
    const std::string name = it->first;
    ModelVolume& m = it->second;
    auto v = *pool->OpenVolume(name);
    const uint64_t size = m.data.size();
    if (kind < 55) {
      uint64_t off = rng.Uniform(size / 512) * 512;
      uint64_t len = std::min<uint64_t>(rng.Range(1, 300) * 512, size - off);
      auto data = Pattern(rng.Next(), len);
      ASSERT_TRUE(v->Write(off, data, op + 1).ok());
      std::copy(data.begin(), data.end(), m.data.begin() + off);
    } else if (kind < 63) {
      uint64_t off = rng.Uniform(size / 512) * 512;
      uint64_t len = std::min<uint64_t>(rng.Range(1, 2048) * 512, size - off);
      ASSERT_TRUE(v->Unmap(off, len, op + 1).ok());
      std::fill_n(m.data.begin() + off, len, std::byte{0});
    } else if (kind < 70) {
      uint64_t off = rng.Uniform(size / 512) * 512;
      uint64_t len = std::min<uint64_t>(rng.Range(1, 512) * 512, size - off);
      std::vector<std::byte> got(len);
      ASSERT_TRUE(v->Read(off, got).ok());
      ASSERT_TRUE(std::equal(got.begin(), got.end(), m.data.begin() + off))
          << "read of " << name << " at " << off;
    } else if (kind < 77) {
      std::string snap = "s" + std::to_string(next_name++);
      ASSERT_TRUE(v->CreateSnapshot(snap).ok());
      m.snapshots[snap] = m.data;
    } else if (kind < 82 && !m.snapshots.empty()) {
      auto s = pick(m.snapshots);
      std::string origin = name + "@" + s->first;
      bool has_clone = std::any_of(model.begin(), model.end(),
                                   [&](auto& e) { return e.second.origin == origin; });
      Status st = v->DeleteSnapshot(s->first);
      if (has_clone) {
        ASSERT_TRUE(st.Is(Code::kFailedPrecondition)) << st.ToString();
      } else {
        ASSERT_TRUE(st.ok()) << st.ToString();
        m.snapshots.erase(s);
      }
    } else if (kind < 87 && !m.snapshots.empty()) {
      auto s = pick(m.snapshots);
      std::string clone = "c" + std::to_string(next_name++);
      ASSERT_TRUE(pool->CloneVolume(clone, name, s->first).ok());
      model[clone] = {m.block_size, s->second, {}, name + "@" + s->first};
    } else if (kind < 90) {
      bool has_clone = std::any_of(model.begin(), model.end(), [&](auto& e) {
        return e.second.origin.starts_with(name + "@");
      });
      Status st = pool->DeleteVolume(name);
      if (has_clone) {
        ASSERT_TRUE(st.Is(Code::kFailedPrecondition)) << st.ToString();
      } else {
        ASSERT_TRUE(st.ok()) << st.ToString();
        model.erase(name);
      }
    } else if (kind < 93) {
      uint64_t grown = size + m.block_size * rng.Range(1, 64);
      ASSERT_TRUE(v->Grow(grown).ok());
      m.data.resize(grown);
    } else if (kind < 97) {
      ASSERT_TRUE(pool->Flush().ok());
    } else {
      v.reset();
      pool.reset();
      auto reopened = Pool::Open("/p", opts);
      ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
      pool = std::move(*reopened);
    }
    if (HasFatalFailure()) return;
  }
  for (const auto& [name, m] : model) {
    verify_volume(name, m);
    if (HasFatalFailure()) return;
  }
  auto check = pool->Check();
  ASSERT_TRUE(check.ok());
  for (const auto& p : check->problems) ADD_FAILURE() << p;
  // Deleting everything returns the pool to empty.
  while (!model.empty()) {
    for (auto it = model.begin(); it != model.end();) {
      bool has_clone = std::any_of(model.begin(), model.end(), [&](auto& e) {
        return e.second.origin.starts_with(it->first + "@");
      });
      if (has_clone) {
        ++it;
        continue;
      }
      ASSERT_TRUE(pool->DeleteVolume(it->first).ok());
      it = model.erase(it);
    }
  }
  ASSERT_TRUE(pool->Flush().ok());
  EXPECT_EQ(pool->Stats().used_bytes, 0u);
  check = pool->Check();
  ASSERT_TRUE(check.ok());
  for (const auto& p : check->problems) ADD_FAILURE() << p;
}

TEST_F(ModelTest, EngineMatchesModelOverManySeeds) {
  uint64_t base = EnvOr("CSTOR_MODEL_SEED_BASE", 0);
  uint64_t seeds = EnvOr("CSTOR_MODEL_SEEDS", 40);
  uint64_t ops = EnvOr("CSTOR_MODEL_OPS", 400);
  for (uint64_t seed = base; seed < base + seeds; seed++) {
    RunSeed(seed, ops);
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace cstor::engine
