#include "env/mem_env.h"

#include <gtest/gtest.h>

#include <cstring>

namespace cstor {
namespace {

std::span<const std::byte> Bytes(const std::string& s) { return std::as_bytes(std::span(s)); }

std::string ReadAll(Env* env, const std::string& path) {
  auto f = env->OpenFile(path, {});
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  std::string out(*(*f)->Size(), '\0');
  EXPECT_TRUE((*f)->ReadExact(0, std::as_writable_bytes(std::span(out))).ok());
  return out;
}

TEST(MemEnvTest, SyncedDataSurvivesAndUnsyncedIsDropped) {
  MemEnv env;
  auto f = env.OpenFile("/a", {.create = true});
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Write(0, Bytes("durable")).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Write(7, Bytes("-volatile")).ok());
  EXPECT_EQ(ReadAll(&env, "/a"), "durable-volatile");
  env.DropUnsyncedData();
  EXPECT_EQ(ReadAll(&env, "/a"), "durable");
  // The handle from before the crash is dead.
  EXPECT_FALSE((*f)->Write(0, Bytes("x")).ok());
}

TEST(MemEnvTest, PowerCutKeepsDropsOrTearsEachWrite) {
  // Over many seeds, an unsynced 4 KiB overwrite must come back whole, absent, or torn at
  // sector boundaries: every 512-byte sector is entirely old or entirely new.
  int whole = 0, lost = 0, torn = 0;
  for (uint64_t seed = 0; seed < 200; seed++) {
    MemEnv env(seed);
    auto f = env.OpenFile("/d", {.create = true});
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Write(0, Bytes(std::string(4096, 'o'))).ok());
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Write(0, Bytes(std::string(4096, 'n'))).ok());
    Random rng(seed);
    env.SimulatePowerCut(rng);
    std::string after = ReadAll(&env, "/d");
    ASSERT_EQ(after.size(), 4096u);
    int new_sectors = 0;
    for (int s = 0; s < 8; s++) {
      std::string sector = after.substr(s * 512, 512);
      bool all_old = sector == std::string(512, 'o');
      bool all_new = sector == std::string(512, 'n');
      ASSERT_TRUE(all_old || all_new) << "sector " << s << " mixed, seed " << seed;
      new_sectors += all_new;
    }
    if (new_sectors == 8) whole++;
    else if (new_sectors == 0) lost++;
    else torn++;
  }
  EXPECT_GT(whole, 0);
  EXPECT_GT(lost, 0);
  EXPECT_GT(torn, 0);
}

TEST(MemEnvTest, SmallFilesAreReplacedWholeOrNotAtAll) {
  // Across power cuts at every point, the file holds the old or the new contents.
  int old_seen = 0, new_seen = 0;
  for (uint64_t seed = 0; seed < 100; seed++) {
    MemEnv env(seed);
    ASSERT_TRUE(env.CreateDir("/state").ok());
    ASSERT_TRUE(env.SyncDir("/").ok());
    ASSERT_TRUE(env.WriteSmallFileAtomically("/state/known", "old contents").ok());
    env.CrashAfterOps(seed % 8);
    (void)env.WriteSmallFileAtomically("/state/known", "new, longer contents");
    Random rng(seed);
    env.SimulatePowerCut(rng);
    auto back = env.ReadSmallFile("/state/known");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    if (*back == "old contents") {
      old_seen++;
    } else {
      ASSERT_EQ(*back, "new, longer contents");
      new_seen++;
    }
  }
  EXPECT_GT(old_seen, 0);
  EXPECT_GT(new_seen, 0);
  MemEnv env;
  EXPECT_TRUE(env.ReadSmallFile("/missing").status().Is(Code::kNotFound));
}

TEST(MemEnvTest, CrashAfterOpsKillsEverything) {
  MemEnv env;
  auto f = env.OpenFile("/c", {.create = true});
  ASSERT_TRUE(f.ok());
  env.CrashAfterOps(2);
  EXPECT_TRUE((*f)->Write(0, Bytes("one")).ok());
  EXPECT_FALSE((*f)->Write(3, Bytes("two")).ok());  // trips the crash
  EXPECT_TRUE(env.crashed());
  EXPECT_FALSE((*f)->Sync().ok());
  EXPECT_FALSE(env.OpenFile("/c", {}).ok());
  Random rng(3);
  env.SimulatePowerCut(rng);
  EXPECT_FALSE(env.crashed());
  std::string after = ReadAll(&env, "/c");
  // Each of the two unsynced writes independently landed or not (possibly torn).
  EXPECT_LE(after.size(), 6u);
}

TEST(MemEnvTest, DirectoriesAndLocks) {
  MemEnv env;
  ASSERT_TRUE(env.CreateDirs("/pool/meta").ok());
  ASSERT_TRUE(env.OpenFile("/pool/meta/x", {.create = true}).ok());
  EXPECT_TRUE(env.OpenFile("/nodir/x", {.create = true}).status().Is(Code::kNotFound));
  auto kids = env.GetChildren("/pool");
  ASSERT_TRUE(kids.ok());
  EXPECT_EQ(*kids, std::vector<std::string>{"meta"});
  EXPECT_FALSE(env.DeleteDir("/pool/meta").ok());  // not empty
  ASSERT_TRUE(env.RenameFile("/pool/meta/x", "/pool/meta/y").ok());
  EXPECT_FALSE(env.Stat("/pool/meta/x")->exists);
  EXPECT_TRUE(env.Stat("/pool/meta/y")->exists);
  auto lock = env.LockFile("/pool/LOCK");
  ASSERT_TRUE(lock.ok());
  EXPECT_FALSE(env.LockFile("/pool/LOCK").ok());
}

TEST(MemEnvTest, CorruptBytesChangesDurableImage) {
  MemEnv env;
  auto f = env.OpenFile("/z", {.create = true});
  ASSERT_TRUE((*f)->Write(0, Bytes(std::string(1024, 'a'))).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  Random rng(1);
  ASSERT_TRUE(env.CorruptBytes("/z", 10, 4, rng).ok());
  env.DropUnsyncedData();
  EXPECT_NE(ReadAll(&env, "/z"), std::string(1024, 'a'));
}

}  // namespace
}  // namespace cstor
