// What the target reports about a replicated volume and its replicas; the CStorVolume
// status carries it (phase, replicaStatuses[]).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace cstor::replication {

// Init: waiting for enough replicas to form a quorum (IO fails fast).
// Healthy: every desired replica is healthy. Degraded: a quorum is healthy, not all.
// Offline: fewer than a quorum of healthy replicas (IO fails fast).
enum class Phase { kInit, kHealthy, kDegraded, kOffline };

// A replica's mode as the target sees it.
enum class ReplicaMode { kConnecting, kDegraded, kRebuilding, kHealthy };

std::string_view PhaseName(Phase p);
std::string_view ModeName(ReplicaMode m);

struct ReplicaStatus {
  std::string id;
  uint64_t guid = 0;
  std::string address;
  ReplicaMode mode = ReplicaMode::kConnecting;
  bool quorum = false;  // a known replica (counts toward quorum once healthy)
  uint64_t checkpointed_io_seq = 0;
  uint32_t inflight_reads = 0;
  uint32_t inflight_writes = 0;
  uint32_t inflight_syncs = 0;
  uint64_t up_micros = 0;  // connected for
  uint64_t rebuild_done_bytes = 0;
  uint64_t rebuild_total_bytes = 0;
  uint32_t rebuild_attempts = 0;
  std::string last_error;
};

// A rebuilding replica's progress for people: "12 MiB/40 MiB (30%)", or "estimating"
// before the copy has seen enough of its source to know the total; "" when not rebuilding.
std::string RebuildProgressText(const ReplicaStatus& r);

struct VolumeStatus {
  std::string name;
  Phase phase = Phase::kInit;
  std::string message;
  uint64_t size = 0;
  uint32_t block_size = 0;
  uint32_t replication_factor = 0;
  uint32_t consistency_factor = 0;
  uint32_t healthy = 0;
  uint64_t io_seq = 0;  // the last one issued
  std::vector<ReplicaStatus> replicas;
  std::map<std::string, uint64_t> known_replicas;
  std::vector<std::string> reconciled_from;  // the replicas the last reconciliation merged
  // Counters since start.
  uint64_t writes = 0, reads = 0, flushes = 0, failed_ios = 0, repairs = 0;
  uint64_t rebuilds_completed = 0;
  uint64_t drops = 0;         // replicas the target dropped (a failed or late request, a stall)
  uint64_t held_writes = 0;   // writes that waited for a replica's window (flow control)
  uint32_t writes_waiting = 0;  // ... waiting now
};

}  // namespace cstor::replication
