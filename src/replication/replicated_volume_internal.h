// ReplicatedVolume's private structures, shared by its source files. Not part of the API.
#pragma once

#include "replication/replicated_volume.h"

namespace cstor::replication {

// One replicated write or unmap of whole blocks.
struct ReplicatedVolume::WriteOp {
  uint64_t io_seq = 0;
  uint64_t first = 0, blocks = 0;
  Done done;
  std::set<ConnId> waiting_healthy;  // healthy when issued, not answered yet
  uint32_t acks = 0;                 // OK answers from those
  bool finished = false;             // the client has its answer
  bool acked = false;                // ... and it was success

  bool Overlaps(uint64_t f, uint64_t n) const { return first < f + n && f < first + blocks; }
};

// A request sent to a replica and not answered yet.
struct ReplicatedVolume::Pending {
  wire::Op op;
  uint64_t sent_micros = 0;
  std::function<void(Status, const wire::Frame*)> reply;
  std::shared_ptr<WriteOp> write;  // set for writes and unmaps
};

struct ReplicatedVolume::RebuildState {
  bool live = false;       // the live phase (the replica receives writes) or snapshot catch-up
  bool merge = false;      // reconciling after start-up
  bool sent = false;       // RebuildStart sent
  std::string source;      // replica id of the source
  uint64_t snapshot_epoch = 0;  // of the snapshot list the plan carries
  uint64_t started_micros = 0;
  uint64_t done_bytes = 0, total_bytes = 0;
};

struct ReplicatedVolume::Session {
  enum class Stage { kHello, kAuth, kActive };
  ConnId conn = 0;
  Stage stage = Stage::kHello;
  uint64_t id = 0;
  uint64_t connected_micros = 0;
  uint64_t active_micros = 0;
  uint64_t last_heard_micros = 0;
  uint64_t last_ping_micros = 0;
  uint64_t last_write_answer_micros = 0;  // when it last answered a write or an unmap
  wire::Hello hello;
  wire::Nonce nonce{};
  ReplicaMode mode = ReplicaMode::kConnecting;
  bool known = false;
  uint64_t checkpoint = 0;
  uint64_t max_io_seq = 0;
  std::vector<wire::SnapshotRef> snapshots;
  uint64_t snapshot_epoch = 0;  // version of `snapshots`
  bool live = false;         // receives writes
  uint64_t live_floor = 0;   // io_seq of the first write it was sent in this session
  uint64_t rebuild_base = 0; // what the replica is known to hold up to (for its rebuild)
  std::optional<RebuildState> rebuild;
  std::map<uint64_t, Pending> pending;
  uint32_t reads = 0, writes = 0, syncs = 0;
  std::string last_error;

  const std::string& replica() const { return hello.replica_id; }
  bool active() const { return stage == Stage::kActive; }
  bool healthy() const { return active() && mode == ReplicaMode::kHealthy; }
  bool HasSnapshot(const std::string& name) const {
    for (const auto& s : snapshots) {
      if (s.name == name) return true;
    }
    return false;
  }
};

struct ReplicatedVolume::WaitingRead {
  uint64_t first = 0, blocks = 0;
  std::set<ConnId> tried;
  BlockReadDone done;
};

}  // namespace cstor::replication
