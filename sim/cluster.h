// Cluster: one simulated replicated volume — a target and three replicas on a SimWorld —
// a client workload checked by the Checker, and a fault schedule. Run() plays one seed:
// faults for a while, then healing, then the final checks (see replication_sim.cc).
//
// Its parts: cluster.cc (the nodes, the run, the final checks, what the checker may
// forget after data loss), workload.cc (the client and its liveness rule), faults.cc (the
// fault schedule).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "replica/replica_node.h"
#include "replication/replicated_volume.h"
#include "sim/checker.h"
#include "sim/sim_store.h"
#include "sim/sim_world.h"

namespace cstor::sim {

struct SimOptions {
  uint64_t seconds = 15;       // of faults and load
  uint64_t volume_blocks = 64;
  bool verbose = false;
  bool buggify = true;         // fault points inside the production code (base/buggify.h)
  bool engine = false;         // replicas on the real engine (EngineDisk), not SimStore
};

struct SimStats {
  uint64_t events = 0, writes = 0, reads = 0, flushes = 0, snapshots = 0, resizes = 0;
  // Client IOs that failed, by cause (see Cluster::Finished).
  std::map<std::string, uint64_t> failed;
  std::map<std::string, uint64_t> faults;  // injected, by kind
  uint64_t rebuilds = 0, repairs = 0;      // over every target incarnation
  uint64_t data_loss_events = 0;           // more than RF - CF replicas lost unflushed data
  uint64_t diverged_after_loss = 0;        // seeds whose replicas differed after such a loss
  uint64_t buggify_fired = 0;
  void Add(const SimStats& o);
};

class Cluster {
 public:
  Cluster(uint64_t seed, SimOptions options);
  ~Cluster();
  // Plays the seed; returns what went wrong, if anything.
  std::optional<std::string> Run();
  const SimStats& stats() const { return stats_; }

 private:
  struct Replica {
    std::string node, id;
    uint64_t guid = 0;
    std::unique_ptr<SimDisk> store;
    std::unique_ptr<replica::ReplicaNode> agent;
    replication::Transport* transport = nullptr;
    bool down = false;
    // When it last lost unflushed data (a crash, a fence) or was left out of a
    // reconciliation; 0: never.
    uint64_t lost_at = 0;
    // Times when it was impaired (down, cut off, slow, failing), widened by the bounds in
    // which the target notices; a client IO overlapping one may fail because of it.
    std::vector<std::pair<uint64_t, uint64_t>> impaired;
    std::optional<size_t> fsync_fault;  // the window of an fsync failure still to come
  };
  struct Snap {
    std::string name;
    uint64_t issued = 0, done = 0;
  };
  // What the client knew when it issued an IO, for classifying its failure.
  struct IoContext {
    uint64_t issued = 0;
    uint64_t target_life = 0;
    std::vector<std::string> healthy;  // healthy replicas then
  };

  // ---- nodes (cluster.cc) ----
  void StartReplica(Replica& r);
  void StartTarget();
  void CrashTarget();
  void CrashReplica(Replica& r);
  void RestartReplicaAfter(Replica& r, uint64_t delay);
  void RestartTargetAfter(uint64_t delay);
  // r lost what it had not flushed. Past RF - CF such replicas since the last successful
  // flush, the checker stops requiring unflushed acknowledged writes.
  void LostUnflushed(Replica& r);
  void OnReconciled(const std::vector<std::string>& from);
  void Impair(Replica& r, uint64_t duration);
  bool AllHealthy() const;
  std::optional<std::string> FinalChecks();
  std::optional<std::string> CheckReplicasAgree();
  std::optional<std::string> CheckSnapshots();
  void Fail(std::string why);
  void Note(const std::string& what);  // a timestamped line, with --verbose

  // ---- the client (workload.cc) ----
  void WorkloadStep();
  void IssueOp();
  void IssueWrite(uint64_t kind);
  void IssueRead(uint64_t first, uint64_t count);
  void IssueFlush();
  void SnapshotLoop();
  void IssueSnapshotOp();
  void MaybeResize();
  IoContext Context() const;
  // A finished IO. A failure is counted by cause; a failure, or an answer later than
  // kSlowIo, while a quorum stayed healthy and untouched by faults is a liveness violation.
  void Finished(const char* what, const IoContext& ctx, const Status& s);
  std::vector<std::string> Untouched(const IoContext& ctx) const;

  // ---- faults (faults.cc) ----
  void InjectFault();
  void AimedFault();  // at a moment when IO is in flight
  void FaultReplicaCrash(Replica& r);
  void WatchRebuilds();
  void FaultPartition(Replica& r);
  void FaultQuorumCut();
  void FaultSlowDisk(Replica& r);
  void FaultDiskErrors(Replica& r);
  void FaultReadStall(Replica& r);
  void FaultFailedFsync(Replica& r);
  void Fenced(Replica& r);
  void FaultCorruption(Replica& r);
  void FaultTargetCrash(bool with_replica);
  void FaultPowerLoss();
  // Every node loses power; `last` (if any) comes back after the reconcile grace period.
  void PowerLossNow(Replica* last);
  void FaultStaleReplica();  // a replica from another life of the volume connects
  void Count(const char* fault) { stats_.faults[fault]++; }
  Replica& AnyReplica();
  uint32_t ImpairedNow() const;

  uint64_t seed_;
  SimOptions options_;
  SimWorld world_;
  replication::VolumeConfig config_;
  replication::Transport* target_transport_ = nullptr;
  std::unique_ptr<replication::ReplicatedVolume> target_;
  bool target_down_ = false;
  uint64_t target_life_ = 0;  // bumped by every start
  std::vector<Replica> replicas_;
  Replica stale_;  // same id as one of them, another guid, foreign data; down mostly
  Checker checker_;
  uint64_t volume_bytes_;
  uint32_t queue_depth_ = 4;
  uint32_t outstanding_ = 0;
  bool load_ = true;
  bool faults_on_ = true;
  uint64_t fault_gap_lo_ = 0, fault_gap_hi_ = 0;  // between periodic faults
  bool resize_running_ = false;
  std::vector<std::pair<uint64_t, uint64_t>> recent_writes_;  // sectors, for read-backs
  std::vector<Snap> snaps_;
  uint64_t next_snap_ = 1;
  uint64_t grace_micros_ = 0;  // how long after a fault the target may still act on it
  std::optional<std::string> failure_;
  SimStats stats_;
};

}  // namespace cstor::sim
