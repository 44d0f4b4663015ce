// Cluster: the fault schedule. Faults come every few hundred milliseconds and may overlap:
// one replica or more lost at once (a replica dying while another rebuilds, or during its
// own rebuild), the target with a replica, power loss of every node with staggered
// restarts, partitions that cut the target from one replica or from a quorum, slow disks
// beyond the target's lag bounds, disk IO errors, failed fsyncs (the pool fences and its
// process is restarted, as a pool manager would be), corrupted blocks, connection resets —
// and faults aimed at moments when IO is in flight. The network itself delays, duplicates
// and reorders frames (sim_world.h).
#include <fmt/format.h>

#include "sim/cluster.h"
#include "sim/sim_constants.h"

namespace cstor::sim {

Cluster::Replica& Cluster::AnyReplica() {
  return replicas_[world_.rng().Uniform(replicas_.size())];
}

void Cluster::InjectFault() {
  if (!faults_on_) return;
  Random& rng = world_.rng();
  world_.After(rng.Range(fault_gap_lo_, fault_gap_hi_), [this] { InjectFault(); });
  // Most of the time at most RF - CF replicas are impaired, so that the volume serves and
  // the liveness rule has something to check; sometimes more.
  if (ImpairedNow() >= 1 && !rng.OneIn(4)) return;
  Replica& r = AnyReplica();
  uint64_t kind = rng.Uniform(100);
  if (kind < 16) return FaultReplicaCrash(r);
  if (kind < 28) return FaultPartition(r);
  if (kind < 32) return FaultQuorumCut();
  if (kind < 42) return FaultSlowDisk(r);
  if (kind < 45) return FaultDiskErrors(r);
  if (kind < 47) return FaultReadStall(r);
  if (kind < 52) return FaultFailedFsync(r);
  if (kind < 58) return FaultCorruption(r);
  if (kind < 68) return FaultTargetCrash(/*with_replica=*/rng.OneIn(2));
  if (kind < 73) return FaultPowerLoss();
  if (kind < 75) return FaultStaleReplica();
  if (kind < 85) {
    Replica& other = AnyReplica();
    if (&other == &r) return;
    Count("replica partition");
    world_.Partition(r.node, other.node);
    Note(r.node + " cut off from " + other.node);
    world_.After(rng.Range(500'000, 5'000'000),
                 [this, a = r.node, b = other.node] { world_.Heal(a, b); });
    return;
  }
  Count("connection reset");
  bool at_target = rng.OneIn(2);
  Note("reset a connection of " + (at_target ? std::string("target") : r.node));
  world_.ResetRandomConnection(at_target ? "target" : r.node);
  if (at_target) {
    for (auto& x : replicas_) Impair(x, 0);  // one of them, we do not know which
  } else {
    Impair(r, 0);
  }
}

void Cluster::AimedFault() {
  if (!faults_on_) return;
  Random& rng = world_.rng();
  if (ImpairedNow() >= 1 && !rng.OneIn(4)) return;
  Count("aimed at IO in flight");
  switch (rng.Uniform(7)) {
    case 0: return FaultReplicaCrash(AnyReplica());
    case 5: return FaultDiskErrors(AnyReplica());
    case 1: return FaultTargetCrash(/*with_replica=*/false);
    case 2: return FaultTargetCrash(/*with_replica=*/true);
    case 3: return FaultFailedFsync(AnyReplica());
    case 4: return FaultPowerLoss();
    default: return FaultPartition(AnyReplica());
  }
}

void Cluster::FaultReplicaCrash(Replica& r) {
  if (r.down) return;
  Count("replica crash");
  uint64_t down_for = world_.rng().OneIn(4) ? world_.rng().Range(4'000'000, 12'000'000)
                                            : world_.rng().Range(100'000, 3'000'000);
  CrashReplica(r);
  Impair(r, down_for);
  RestartReplicaAfter(r, down_for);
}

void Cluster::WatchRebuilds() {
  // Rebuilds are short here (they copy only what was missed), so they are watched for: now
  // and then, a replica in the middle of its rebuild crashes, or another one does.
  if (!faults_on_) return;
  world_.After(world_.rng().Range(500, 3000), [this] { WatchRebuilds(); });
  if (target_down_ || !world_.rng().OneIn(25)) return;
  for (const auto& st : target_->GetStatus().replicas) {
    if (st.mode != replication::ReplicaMode::kRebuilding) continue;
    for (auto& r : replicas_) {
      if (r.id != st.id) continue;
      if (ImpairedNow() >= 2 && !world_.rng().OneIn(4)) return;
      Count("crash during a rebuild");
      Replica& victim = world_.rng().OneIn(3) ? AnyReplica() : r;
      if (world_.rng().OneIn(2)) return FaultReplicaCrash(victim);
      // It commits on its own first (its checkpoint moves if nothing holds it), takes some
      // more writes, then dies.
      if (!victim.down) victim.store->CommitNow();
      return world_.After(world_.rng().Range(1'000, 100'000),
                          [this, &victim] { FaultReplicaCrash(victim); });
    }
  }
}

void Cluster::FaultPartition(Replica& r) {
  if (world_.partitioned(r.node, "target")) return;
  Count("target partition");
  uint64_t d = world_.rng().Range(200'000, 8'000'000);
  world_.Partition(r.node, "target");
  Impair(r, d);
  Note(r.node + " cut off from the target");
  world_.After(d, [this, &r] {
    world_.Heal(r.node, "target");
    Note(r.node + " reconnected to the target");
  });
}

void Cluster::FaultQuorumCut() {
  Count("target cut from a quorum");
  uint64_t d = world_.rng().Range(500'000, 6'000'000);
  Replica& spared = AnyReplica();
  for (auto& r : replicas_) {
    if (&r == &spared || world_.partitioned(r.node, "target")) continue;
    world_.Partition(r.node, "target");
    Impair(r, d);
    world_.After(d, [this, &r] { world_.Heal(r.node, "target"); });
  }
  Note("target cut off from all but " + spared.node);
}

void Cluster::FaultSlowDisk(Replica& r) {
  Count("slow disk");
  Random& rng = world_.rng();
  // Slow, or slower than the target's slow-write bound.
  uint64_t hi = rng.OneIn(2) ? rng.Range(20'000, 400'000) : rng.Range(1'000'000, 6'000'000);
  uint64_t d = rng.Range(1'000'000, 8'000'000);
  r.store->SetSlow(hi / 4, hi);
  Impair(r, d + hi);
  Note(fmt::format("{} disk slow (up to {} ms)", r.node, hi / 1000));
  world_.After(d, [this, &r] { r.store->SetSlow(0, 0); });
}

void Cluster::FaultDiskErrors(Replica& r) {
  if (!r.store->can_fail_writes()) return;
  Count("disk write errors");
  uint64_t d = world_.rng().Range(100'000, 3'000'000);
  r.store->SetWriteErrors(true);
  Impair(r, d);
  Note(r.node + " disk fails writes");
  world_.After(d, [this, &r] { r.store->SetWriteErrors(false); });
}

void Cluster::FaultReadStall(Replica& r) {
  Count("disk hangs on reads");
  uint64_t d = world_.rng().Range(500'000, 4'000'000);
  uint64_t stall = world_.rng().Range(10'000'000, 40'000'000);
  r.store->SetReadStall(stall);
  Impair(r, d + stall);
  Note(r.node + " disk hangs on reads");
  world_.After(d, [this, &r] { r.store->SetReadStall(0); });
}

void Cluster::FaultFailedFsync(Replica& r) {
  if (r.down || r.store->fenced()) return;
  Count("failed fsync");
  r.store->FailNextFlush();
  Note(r.node + " next fsync fails");
  // Until the next flush, whenever that is, it is as good as gone (Cluster::Fenced).
  r.fsync_fault = r.impaired.size();
  Impair(r, 60'000'000);
}

void Cluster::Fenced(Replica& r) {
  // The pool manager sees its pool fenced and restarts the process, which imports the pool
  // from what was durable. The fence itself loses what was not.
  Note(r.node + " fenced after a failed fsync");
  uint64_t restart = world_.rng().Range(200'000, 3'000'000);
  if (r.fsync_fault) r.impaired[*r.fsync_fault].second = world_.now() + restart + grace_micros_;
  r.fsync_fault.reset();
  world_.After(restart, [this, &r] {
    if (r.down || !r.store->fenced()) return;
    CrashReplica(r);
    RestartReplicaAfter(r, 100'000);
  });
}

void Cluster::FaultCorruption(Replica& r) {
  // One bad copy of one block, repaired from the others when read or rebuilt. Only while
  // every replica is healthy: a block whose every good copy is then lost cannot be
  // rebuilt, and the engine has no way yet to carry "this block is lost" to a new copy.
  if (!AllHealthy()) return;
  std::vector<uint64_t> blocks;
  for (uint64_t b = 0; b < volume_bytes_ / kBlock; b++) {
    auto blk = r.store->Look(b);
    if (blk && !blk->unmapped) blocks.push_back(b);
  }
  if (blocks.empty()) return;
  uint64_t bad = blocks[world_.rng().Uniform(blocks.size())];
  if (!r.store->Corrupt(bad)) return;
  Count("corruption");
  Note(fmt::format("{} block {} corrupted", r.node, bad));
}

void Cluster::FaultTargetCrash(bool with_replica) {
  if (target_down_) return;
  if (with_replica && world_.rng().OneIn(2)) {
    // The replica commits on its own (so it may come back with the highest checkpoint),
    // takes more writes, then dies with the target, losing them.
    Replica& r = AnyReplica();
    if (!r.down) r.store->CommitNow();
    Note(r.node + " commits on its own");
    return world_.After(world_.rng().Range(1'000, 200'000), [this, &r] {
      if (target_down_ || r.down) return;
      Count("target and replica crash");
      CrashTarget();
      RestartTargetAfter(world_.rng().Range(100'000, 3'000'000));
      FaultReplicaCrash(r);
    });
  }
  Count(with_replica ? "target and replica crash" : "target crash");
  CrashTarget();
  RestartTargetAfter(world_.rng().Range(100'000, 3'000'000));
  if (with_replica) FaultReplicaCrash(AnyReplica());
}

void Cluster::FaultStaleReplica() {
  if (!stale_.down) return;
  Count("stale replica");
  Note(fmt::format("a stale copy of {} (guid {}) connects", stale_.id, stale_.guid));
  StartReplica(stale_);
  world_.After(world_.rng().Range(1'000'000, 5'000'000), [this] {
    if (stale_.down) return;
    world_.Crash(stale_.node);
    stale_.agent.reset();
    stale_.down = true;
  });
}

void Cluster::FaultPowerLoss() {
  if (target_down_) return;
  if (world_.rng().OneIn(3)) {
    // One replica commits on its own first, so that it holds writes the others then lose
    // (and, kept away below, comes back holding io sequences the new quorum never saw).
    Replica& early = AnyReplica();
    if (!early.down) early.store->CommitNow();
    return world_.After(world_.rng().Range(100, 20'000), [this, &early] { PowerLossNow(&early); });
  }
  PowerLossNow(world_.rng().OneIn(2) ? &AnyReplica() : nullptr);
}

void Cluster::PowerLossNow(Replica* last) {
  if (target_down_) return;
  Count("power loss");
  Note("power loss");
  CrashTarget();
  RestartTargetAfter(world_.rng().Range(200'000, 2'000'000));
  for (auto& r : replicas_) {
    // Staggered: some come back late, one of them often after the target has waited its
    // grace period and formed a quorum without it.
    uint64_t down_for = &r == last ? config_.timing.reconcile_grace_micros +
                                         world_.rng().Range(1'000'000, 4'000'000)
                                   : world_.rng().Range(300'000, 9'000'000);
    CrashReplica(r);
    Impair(r, down_for);
    RestartReplicaAfter(r, down_for);
  }
}

}  // namespace cstor::sim
