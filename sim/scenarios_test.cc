// Directed scenarios on the simulated world: one fault each, set up exactly, with the
// outcome the target must reach. They pin down faults the random schedule also reaches,
// so that a regression names itself. Time here is simulated: bounds on it are part of the
// behaviour under test, not timing assertions on a real clock.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <vector>

#include "replica/replica_node.h"
#include "replication/replicated_volume.h"
#include "sim/sim_constants.h"
#include "sim/sim_store.h"
#include "sim/sim_world.h"

namespace cstor::sim {
namespace {

constexpr uint64_t kBlocks = 16;
const bool kQuiet = (spdlog::set_level(std::getenv("SIM_LOG") ? spdlog::level::info : spdlog::level::off), true);

// A target and three replicas on a simulated world, with helpers that wait for outcomes.
class Rig {
 public:
  explicit Rig(uint64_t seed, replication::Timing timing = {}) : world_(seed) {
    config_.timing = timing;
    config_.name = kVolume;
    config_.secret = kSecret;
    config_.replication_factor = 3;
    target_net_ = world_.AddNode("target");
    world_.Listen("target", 6060);
    for (int i = 1; i <= 3; i++) {
      Replica r;
      r.node = "r" + std::to_string(i);
      r.id = "replica-" + std::to_string(i);
      r.store = std::make_unique<SimStore>(&world_, r.node, kBlocks * kBlock, kBlock);
      r.net = world_.AddNode(r.node);
      world_.Listen(r.node, 7000);
      config_.known_replicas[r.id] = 100 + i;
      replicas_.push_back(std::move(r));
    }
    StartTarget();
    for (int i = 0; i < 3; i++) StartReplica(i);
  }
  ~Rig() { target_.reset(); }

  SimWorld& world() { return world_; }
  SimStore& store(int i) { return *replicas_[i].store; }
  uint64_t Sessions(int i) { return replicas_[i].agent->State().at(0).sessions; }
  const std::string& node(int i) const { return replicas_[i].node; }
  replication::ReplicatedVolume& target() { return *target_; }

  void StartTarget() {
    target_ = std::make_unique<replication::ReplicatedVolume>(config_, target_net_);
    world_.Start("target", target_.get());
  }
  void CrashTarget() {
    world_.Crash("target");
    target_.reset();
  }
  void StartReplica(int i) {
    Replica& r = replicas_[i];
    replica::ReplicaNodeOptions o;
    o.rebuild_address = r.node + ":7000";
    r.agent = std::make_unique<replica::ReplicaNode>(o, r.net);
    world_.Start(r.node, r.agent.get());
    r.agent->AddVolume({kVolume, kSecret, "target:6060", r.id, config_.known_replicas[r.id],
                        "pool-" + r.node, r.store.get()});
  }

  void RunFor(uint64_t micros) { world_.RunUntil(world_.now() + micros); }
  // Runs until pred holds or `micros` pass; returns whether it held.
  template <typename Pred>
  bool RunUntil(Pred pred, uint64_t micros) {
    const uint64_t end = world_.now() + micros;
    while (!pred() && world_.now() < end) world_.RunUntil(world_.now() + 10'000);
    return pred();
  }
  uint32_t Healthy() {
    uint32_t n = 0;
    for (const auto& r : target_->GetStatus().replicas) {
      n += r.mode == replication::ReplicaMode::kHealthy;
    }
    return n;
  }
  bool IsHealthy(int i) {
    for (const auto& r : target_->GetStatus().replicas) {
      if (r.id == replicas_[i].id) return r.mode == replication::ReplicaMode::kHealthy;
    }
    return false;
  }

  Status Write(uint64_t block, char fill) {
    std::optional<Status> out;
    target_->Write(block * kBlock, std::string(kBlock, fill), [&](Status s) { out = s; });
    RunUntil([&] { return out.has_value(); }, 60'000'000);
    return out.value_or(Status::Internal("write never finished"));
  }
  Status Unmap(uint64_t block) {
    std::optional<Status> out;
    target_->Unmap(block * kBlock, kBlock, [&](Status s) { out = s; });
    RunUntil([&] { return out.has_value(); }, 60'000'000);
    return out.value_or(Status::Internal("unmap never finished"));
  }
  void CrashReplica(int i) {
    world_.Crash(replicas_[i].node);
    replicas_[i].agent.reset();
    replicas_[i].store->Crash();
  }
  Status CreateSnapshot(const std::string& name) {
    std::optional<Status> out;
    target_->CreateSnapshot(name, [&](Status s) { out = s; });
    RunUntil([&] { return out.has_value(); }, 60'000'000);
    return out.value_or(Status::Internal("snapshot never finished"));
  }
  Status Flush() {
    std::optional<Status> out;
    target_->Flush([&](Status s) { out = s; });
    RunUntil([&] { return out.has_value(); }, 60'000'000);
    return out.value_or(Status::Internal("flush never finished"));
  }
  struct LoadStats {
    uint64_t ok = 0, failed = 0;
    uint64_t max_took = 0;  // simulated microseconds
    uint32_t inflight = 0;
  };
  // A client that keeps `depth` one-block writes in flight, over every block, for `micros`;
  // then waits for them. Calls `each` after every simulated millisecond.
  template <typename Each>
  LoadStats Load(uint32_t depth, uint64_t micros, Each each) {
    auto st = std::make_shared<LoadStats>();
    const uint64_t end = world_.now() + micros;
    for (uint64_t n = 0; world_.now() < end || (st->inflight > 0 && world_.now() < end + 60'000'000);) {
      for (; world_.now() < end && st->inflight < depth; n++) {
        st->inflight++;
        const uint64_t start = world_.now();
        target_->Write((n % kBlocks) * kBlock, std::string(kBlock, static_cast<char>('a' + n % 26)),
                       [this, st, start](Status s) {
                         st->inflight--;
                         (s.ok() ? st->ok : st->failed)++;
                         st->max_took = std::max(st->max_took, world_.now() - start);
                       });
      }
      world_.RunUntil(world_.now() + 1'000);
      each();
    }
    return *st;
  }
  replication::ReplicaStatus StatusOf(int i) {
    for (const auto& r : target_->GetStatus().replicas) {
      if (r.id == replicas_[i].id) return r;
    }
    return {};
  }

  // Reads one block; returns how long it took (simulated) and the result.
  std::pair<uint64_t, Result<std::string>> Read(uint64_t block) {
    std::optional<Result<std::string>> out;
    uint64_t start = world_.now();
    target_->Read(block * kBlock, kBlock, [&](Result<std::string> r) { out = std::move(r); });
    RunUntil([&] { return out.has_value(); }, 120'000'000);
    if (!out) return {world_.now() - start, Status::Internal("read never finished")};
    return {world_.now() - start, std::move(*out)};
  }

 private:
  struct Replica {
    std::string node, id;
    std::unique_ptr<SimStore> store;
    std::unique_ptr<replica::ReplicaNode> agent;
    replication::Transport* net = nullptr;
  };
  SimWorld world_;
  replication::VolumeConfig config_;
  replication::Transport* target_net_ = nullptr;
  std::unique_ptr<replication::ReplicatedVolume> target_;
  std::vector<Replica> replicas_;
};

// A replica whose disk hangs on reads while it still answers heartbeats must not stall the
// client: the read is retried elsewhere and the replica dropped (issue 12, fault 5).
TEST(Scenarios, ReadOnAHungDiskIsRetriedElsewhere) {
  for (uint64_t seed = 1; seed <= 5; seed++) {
    Rig rig(seed);
    ASSERT_TRUE(rig.RunUntil([&] { return rig.Healthy() == 3; }, 5'000'000));
    ASSERT_TRUE(rig.Write(3, 'a').ok());
    // Two of three hang: whichever the read goes to first, it has to move on.
    rig.store(0).SetReadStall(60'000'000);
    rig.store(1).SetReadStall(60'000'000);
    for (int i = 0; i < 3; i++) {
      auto [took, data] = rig.Read(3);
      ASSERT_TRUE(data.ok()) << data.status().ToString();
      EXPECT_EQ(*data, std::string(kBlock, 'a'));
      EXPECT_LT(took, 10'000'000u) << "seed " << seed << ": a read waited " << took / 1000
                                   << " ms on a hung disk";
    }
  }
}

// After a target restart, a known replica that comes back a little late still takes part
// in reconciliation: it may hold acknowledged writes the others lost (fault 6).
TEST(Scenarios, RestartWaitsForLateKnownReplica) {
  Rig rig(7);
  ASSERT_TRUE(rig.RunUntil([&] { return rig.Healthy() == 3; }, 5'000'000));
  ASSERT_TRUE(rig.Write(1, 'x').ok());
  rig.CrashTarget();
  rig.world().Partition(rig.node(2), "target");
  rig.StartTarget();
  rig.RunFor(3'000'000);
  EXPECT_EQ(rig.target().phase(), replication::Phase::kInit)
      << "served with a replica missing, before the grace period: "
      << rig.target().GetStatus().message;
  rig.world().Heal(rig.node(2), "target");
  ASSERT_TRUE(rig.RunUntil([&] { return rig.Healthy() == 3; }, 30'000'000));
  EXPECT_EQ(rig.target().GetStatus().reconciled_from.size(), 3u);
}

// ... but not forever: past the grace period, a quorum serves without it.
TEST(Scenarios, RestartServesWithoutAReplicaThatStaysAway) {
  Rig rig(8);
  ASSERT_TRUE(rig.RunUntil([&] { return rig.Healthy() == 3; }, 5'000'000));
  ASSERT_TRUE(rig.Write(1, 'x').ok());
  rig.CrashTarget();
  rig.world().Partition(rig.node(2), "target");
  rig.StartTarget();
  ASSERT_TRUE(rig.RunUntil([&] { return rig.Healthy() == 2; }, 30'000'000));
  EXPECT_EQ(rig.target().GetStatus().reconciled_from.size(), 2u);
  auto [took, data] = rig.Read(1);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, std::string(kBlock, 'x'));
}

// A replica that cannot mend a bad block (its disk fails the repair write) must leave the
// quorum: it still holds the bad copy (fault 7, repair results).
TEST(Scenarios, FailedRepairDropsTheReplica) {
  int exercised = 0;
  for (uint64_t seed = 1; seed <= 12; seed++) {
    Rig rig(seed);
    ASSERT_TRUE(rig.RunUntil([&] { return rig.Healthy() == 3; }, 5'000'000));
    ASSERT_TRUE(rig.Write(5, 'q').ok());
    ASSERT_TRUE(rig.Flush().ok());
    // A bad copy that cannot be mended; a read that meets it tries to mend it.
    rig.store(0).Corrupt(5);
    rig.store(0).SetWriteErrors(true);
    for (int n = 0; n < 4; n++) {
      auto [took, data] = rig.Read(5);
      ASSERT_TRUE(data.ok()) << data.status().ToString();
      EXPECT_EQ(*data, std::string(kBlock, 'q'));
    }
    rig.RunFor(1'000'000);
    const auto st = rig.target().GetStatus();
    if (st.repairs == 0) continue;  // every read went to the good copy
    exercised++;
    // Dropped at once (it then registers again, and is made healthy after a rebuild that
    // finds nothing it missed, until its next failed write or repair).
    EXPECT_GE(rig.Sessions(0), 2u)
        << "seed " << seed << ": " << rig.node(0) << " failed its repair and was not dropped";
  }
  EXPECT_GT(exercised, 0) << "no seed sent a read to a bad copy";
}

// An unmap that reaches a rebuilding replica before the rebuild has copied the block (so
// the replica has nothing there to unmap) must still win over the older copy the rebuild
// brings afterwards: otherwise the replica serves data the client deleted.
// Half the seeds also miss a snapshot, so that the rebuild catches up on it first, without
// live writes, and the live phase comes after.
TEST(Scenarios, UnmapDuringRebuildBeatsTheOlderCopy) {
  int exercised = 0;
  for (uint64_t seed = 1; seed <= 12; seed++) {
    Rig rig(seed);
    ASSERT_TRUE(rig.RunUntil([&] { return rig.Healthy() == 3; }, 5'000'000));
    rig.CrashReplica(0);
    if (seed > 6) {
      ASSERT_TRUE(rig.CreateSnapshot("missed").ok());
    }
    for (uint64_t b = 0; b < kBlocks; b++) ASSERT_TRUE(rig.Write(b, 'a').ok());
    ASSERT_TRUE(rig.Flush().ok());
    // Back, with a slow disk: its rebuild copies the blocks it missed while the client
    // unmaps them one by one.
    rig.store(0).SetSlow(20'000, 200'000);
    rig.StartReplica(0);
    uint64_t unmapped_during = 0;
    for (uint64_t b = 0; b < kBlocks; b++) {
      unmapped_during += !rig.IsHealthy(0);
      ASSERT_TRUE(rig.Unmap(b).ok());
    }
    if (unmapped_during == 0) continue;
    exercised++;
    rig.store(0).SetSlow(0, 0);
    ASSERT_TRUE(rig.RunUntil([&] { return rig.Healthy() == 3; }, 60'000'000));
    rig.RunFor(5'000'000);  // the unmaps still queued on its disk land
    for (uint64_t b = 0; b < kBlocks; b++) {
      EXPECT_TRUE(rig.store(0).ReadDirect(b) == std::string(kBlock, '\0'))
          << "seed " << seed << ": block " << b << " came back after its unmap";
    }
  }
  EXPECT_GT(exercised, 0) << "no unmap reached a rebuilding replica";
}

// After a target restart without a replica that holds writes the others lost, new writes
// must get io sequences above everything that replica holds: when it comes back, its
// rebuild copies only blocks newer than its checkpoint, and new writes numbered below it
// would never reach it (the io-sequence margin).
TEST(Scenarios, NewWritesOutnumberWhatAnAbsentReplicaHolds) {
  int exercised = 0;
  for (uint64_t seed = 1; seed <= 8; seed++) {
    Rig rig(seed);
    ASSERT_TRUE(rig.RunUntil([&] { return rig.Healthy() == 3; }, 5'000'000));
    for (uint64_t b = 0; b < kBlocks; b++) ASSERT_TRUE(rig.Write(b, 'a').ok());
    ASSERT_TRUE(rig.Flush().ok());
    for (uint64_t b = 0; b < kBlocks; b++) ASSERT_TRUE(rig.Write(b, 'b').ok());
    // Only the third replica makes them durable; the power fails; it stays away.
    rig.store(2).CommitNow();
    rig.CrashTarget();
    for (int i = 0; i < 3; i++) rig.CrashReplica(i);
    const uint64_t held = rig.store(2).GetInfo().max_io_seq;
    if (std::max(rig.store(0).GetInfo().max_io_seq, rig.store(1).GetInfo().max_io_seq) >= held) {
      continue;  // the others kept its last write: nothing to outnumber
    }
    exercised++;
    rig.world().Partition(rig.node(2), "target");
    rig.StartTarget();
    rig.StartReplica(0);
    rig.StartReplica(1);
    rig.StartReplica(2);
    ASSERT_TRUE(rig.RunUntil([&] { return rig.Healthy() == 2; }, 60'000'000));
    for (uint64_t b = 0; b < kBlocks; b++) ASSERT_TRUE(rig.Write(b, 'c').ok());
    rig.world().Heal(rig.node(2), "target");
    ASSERT_TRUE(rig.RunUntil([&] { return rig.Healthy() == 3; }, 60'000'000));
    rig.RunFor(2'000'000);
    for (uint64_t b = 0; b < kBlocks; b++) {
      EXPECT_TRUE(rig.store(2).ReadDirect(b) == std::string(kBlock, 'c'))
          << "seed " << seed << ": block " << b << " missed a write made while it was away";
    }
  }
  EXPECT_GT(exercised, 0) << "no seed left the absent replica holding more than the others";
}

// A snapshot that only one replica could take is not taken: one copy is less than the
// quorum that must survive the loss of RF - CF replicas.
TEST(Scenarios, SnapshotOnOneReplicaFails) {
  Rig rig(3);
  ASSERT_TRUE(rig.RunUntil([&] { return rig.Healthy() == 3; }, 5'000'000));
  ASSERT_TRUE(rig.Write(1, 's').ok());
  rig.store(0).SetWriteErrors(true);
  rig.store(1).SetWriteErrors(true);
  EXPECT_FALSE(rig.CreateSnapshot("only-one").ok())
      << "a snapshot one replica of three took was reported taken";
  rig.store(0).SetWriteErrors(false);
  rig.store(1).SetWriteErrors(false);
  // And the volume gets over it: the replicas that failed are rebuilt.
  EXPECT_TRUE(rig.RunUntil([&] { return rig.Healthy() == 3; }, 60'000'000));
}

// A flush that only one replica could carry out did not make anything durable on a quorum:
// it fails (and the replicas whose fsync failed are fenced, restarted and rebuilt).
TEST(Scenarios, FlushOnOneReplicaFails) {
  Rig rig(4);
  ASSERT_TRUE(rig.RunUntil([&] { return rig.Healthy() == 3; }, 5'000'000));
  ASSERT_TRUE(rig.Write(2, 'f').ok());
  for (int i = 0; i < 2; i++) {  // their fsyncs fail, and only after the third's succeeded
    rig.store(i).FailNextFlush();
    rig.store(i).SetSlowFlush(500'000, 1'000'000);
  }
  EXPECT_FALSE(rig.Flush().ok()) << "a flush one replica of three carried out was reported done";
}

// Flow control: a replica slower than the others but keeping up with its disk paces the
// client instead of falling behind until it is dropped (issue 18). At most a window of
// writes is outstanding to it, whether it is healthy or rebuilding and receiving writes,
// and it stays in its session throughout; the client's writes all succeed.
TEST(Scenarios, SlowReplicaPacesWritesAndStays) {
  replication::Timing timing;
  timing.write_window = 8;
  for (uint64_t seed = 1; seed <= 3; seed++) {
    Rig rig(seed, timing);
    ASSERT_TRUE(rig.RunUntil([&] { return rig.Healthy() == 3; }, 5'000'000));
    rig.store(2).SetSlow(10'000, 30'000);
    uint32_t most_behind = 0;
    auto watch = [&] { most_behind = std::max(most_behind, rig.StatusOf(2).inflight_writes); };
    auto load = rig.Load(64, 3'000'000, watch);
    EXPECT_EQ(load.failed, 0u);
    EXPECT_GT(load.ok, 0u);
    EXPECT_LE(most_behind, timing.write_window) << "seed " << seed;
    EXPECT_EQ(rig.Sessions(2), 1u) << "seed " << seed << ": the slow replica was dropped";
    EXPECT_GT(rig.target().GetStatus().held_writes, 0u) << "the window never filled";

    // Away for a moment, back with the same slow disk while the client writes on: its live
    // writes are paced too, and its rebuild finishes under the load.
    rig.CrashReplica(2);
    rig.StartReplica(2);
    most_behind = 0;
    bool healthy_under_load = false;
    load = rig.Load(64, 20'000'000, [&] {
      watch();
      healthy_under_load = healthy_under_load || rig.IsHealthy(2);
    });
    EXPECT_EQ(load.failed, 0u);
    EXPECT_LE(most_behind, timing.write_window) << "seed " << seed;
    EXPECT_TRUE(healthy_under_load) << "seed " << seed << ": the rebuild did not finish under load";
    EXPECT_EQ(rig.Sessions(2), 1u) << "seed " << seed << ": the rebuilding replica was dropped";
  }
}

// A replica whose disk stops completing writes (it still answers pings) holds the client
// back only until the stall bound, well before the slow-request bound: it is dropped and
// the held writes go on at quorum.
TEST(Scenarios, StalledReplicaIsDroppedAtTheStallBound) {
  replication::Timing timing;
  timing.write_window = 8;
  timing.stalled_micros = 1'000'000;
  for (uint64_t seed = 1; seed <= 3; seed++) {
    Rig rig(seed, timing);
    ASSERT_TRUE(rig.RunUntil([&] { return rig.Healthy() == 3; }, 5'000'000));
    rig.store(2).SetAlive(false);
    bool dropped = false;
    auto load = rig.Load(32, 4'000'000, [&] { dropped = dropped || rig.Healthy() == 2; });
    EXPECT_EQ(load.failed, 0u);
    EXPECT_TRUE(dropped) << "seed " << seed;
    EXPECT_LT(load.max_took, timing.slow_request_micros - 500'000)
        << "seed " << seed << ": a write waited " << load.max_took / 1000
        << " ms behind a stalled replica";
  }
}

}  // namespace
}  // namespace cstor::sim
