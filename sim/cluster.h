// Cluster: one simulated replicated volume — a target and three replicas on a SimWorld —
// a client workload checked by the Checker, and a fault injector. Run() plays one seed:
// faults for a while, then healing, then the final checks (see replication_sim.cc).
#pragma once

#include <memory>
#include <optional>
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
};

struct SimStats {
  uint64_t events = 0, writes = 0, reads = 0, flushes = 0, failed_ios = 0;
  uint64_t replica_crashes = 0, target_crashes = 0, partitions = 0, slowdowns = 0;
  uint64_t corruptions = 0, resets = 0, power_losses = 0, snapshots = 0;
  uint64_t rebuilds = 0, repairs = 0;
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
    std::unique_ptr<SimStore> store;
    std::unique_ptr<replica::ReplicaNode> agent;
    replication::Transport* transport = nullptr;
    bool down = false;
  };
  struct Snap {
    std::string name;
    uint64_t issued = 0, done = 0;
  };

  void StartReplica(Replica& r);
  void StartTarget();
  void CrashTarget();
  void CrashReplica(Replica& r);
  void WorkloadStep();
  void IssueOp();
  void IssueRead();
  void InjectFault();
  bool AllHealthy() const;
  std::optional<std::string> FinalChecks();
  void Fail(std::string why);
  void Note(const std::string& what);  // a timestamped line, with --verbose

  uint64_t seed_;
  SimOptions options_;
  SimWorld world_;
  replication::VolumeConfig config_;
  replication::Transport* target_transport_ = nullptr;
  std::unique_ptr<replication::ReplicatedVolume> target_;
  bool target_down_ = false;
  std::vector<Replica> replicas_;
  Checker checker_;
  uint64_t volume_bytes_;
  uint32_t outstanding_ = 0;
  bool load_ = true;
  bool faults_on_ = true;
  bool impaired_ = false;  // a replica is crashed, cut off or slow
  bool corrupted_ = false;
  bool grown_ = false;
  bool power_lost_ = false;
  std::vector<Snap> snaps_;
  uint64_t next_snap_ = 1;
  std::optional<std::string> failure_;
  SimStats stats_;
};

}  // namespace cstor::sim
