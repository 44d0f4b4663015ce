// RebuildJob: a replica pulling what it lacks from a healthy peer, replica to replica, as
// the target directs (wire::RebuildStart). In rebuild mode it becomes a copy of the source:
//   1. its checkpoint is held where the copy starts, so a crash in the middle restarts it;
//   2. snapshots the source lacks are deleted; for each snapshot it lacks (oldest first),
//      its own blocks changed since the base, and the source's blocks changed since the
//      base in that snapshot, are set to the source's versions, and then it takes the
//      snapshot itself;
//   3. in the live phase, the same for the live volume, except that blocks holding a live
//      write (io_seq at or above the floor) are never replaced;
//   4. it flushes and, after the live phase, releases the hold.
// In merge mode (reconciling after a target restart) it only takes the source's newer
// blocks. See docs/replication.md.
//
// Threading: runs on the replica's event loop; driven by ReplicaNode.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "replica/replica_store.h"
#include "replication/transport.h"

namespace cstor::replica {

// The whole blocks a catching-up replica received live unmaps for, each with the io
// sequence of the newest unmap covering it. Where the replica had no block to unmap it keeps
// no record of it, so a rebuild must not bring an older copy of such a block back
// (ApplyLiveUnmaps). Disjoint ranges of blocks; stamped IO reaches a replica in io-sequence
// order, so a later unmap replaces what it overlaps.
class LiveUnmaps {
 public:
  void Add(uint64_t first, uint64_t end, uint64_t io_seq);
  // The io sequence of the unmap covering block, if any.
  std::optional<uint64_t> Covering(uint64_t block) const;
  size_t ranges() const { return ranges_.size(); }
  void Clear() { ranges_.clear(); }

 private:
  struct Range {
    uint64_t end, io_seq;
  };
  std::map<uint64_t, Range> ranges_;  // first block -> range
};

// If an unmap in `unmaps` covers v's block and is newer than v, v becomes that unmap.
void ApplyLiveUnmaps(const LiveUnmaps& unmaps, wire::BlockVersion& v);

class RebuildJob {
 public:
  struct Identity {
    std::string volume, secret, replica_id;
    uint64_t replica_guid = 0;
  };
  using Finished = std::function<void(Status, wire::RebuildDone)>;

  // Puts a block version on the replica's store (ReplicaStore::ApplyVersion), ordered with
  // the live IO the replica receives; `live`: a version of the live volume, not of a
  // snapshot.
  using Apply = std::function<void(wire::BlockVersion v, uint64_t keep_at, bool live,
                                   ReplicaStore::Done done)>;

  RebuildJob(Identity id, wire::RebuildStart plan, ReplicaStore* store,
             replication::Transport* transport, Apply apply, Finished finished,
             std::function<void(const wire::RebuildProgress&)> progress);
  ~RebuildJob();

  void Start();
  // Routed by the node for the job's peer connection.
  void OnConnected();
  void OnFrame(wire::Frame frame);
  void OnClosed(const Status& why);
  void OnTick();
  // Stops the job where it is (its session with the target ended): nothing it has queued
  // on the store acts any more, and it never touches the checkpoint hold again.
  void Abandon() { *alive_ = false; }
  replication::ConnId conn() const { return conn_; }
  bool finished() const { return finished_called_; }

 private:
  enum class Step { kConnecting, kHello, kAuth, kWorking };
  struct Phase {
    std::string snapshot;  // "" = live volume
    bool create_after = false;
    uint64_t io_seq = 0;   // of the snapshot to create
  };

  void Fail(Status why);
  void Succeed();
  void NextPhase();
  void RepairOwnTail();
  // True (and on to the next phase) if st says the snapshot being copied is gone.
  bool SkipDeletedSnapshot(const Status& st);
  void OpenStream();
  void RequestBatch();
  void OnBatch(uint64_t phase, Status st, const wire::Frame& f);
  void FinishStreamPhase();
  void ApplyBatch(std::vector<wire::BlockVersion> blocks, std::function<void()> then);
  void Request(wire::Op op, std::string payload,
               std::function<void(Status, const wire::Frame&)> reply);
  uint64_t KeepAt(const wire::BlockVersion& v) const;
  void Report(bool force);

  Identity id_;
  wire::RebuildStart plan_;
  ReplicaStore* store_;
  replication::Transport* transport_;
  Apply apply_;
  Finished finished_;
  std::function<void(const wire::RebuildProgress&)> progress_;
  uint32_t block_size_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  replication::ConnId conn_ = 0;
  Step step_ = Step::kConnecting;
  wire::Nonce nonce_{};
  uint64_t next_request_ = 1;
  std::map<uint64_t, std::function<void(Status, const wire::Frame&)>> pending_;

  std::deque<Phase> phases_;
  Phase current_;
  uint64_t base_ = 0;
  uint32_t batch_blocks_ = 64;
  uint64_t stream_id_ = 0;
  static constexpr uint32_t kBatchesInFlight = 4;
  uint32_t batches_out_ = 0;  // batches requested or being applied in this phase
  bool stream_done_ = false;  // the source said its stream has no more
  uint64_t phase_gen_ = 0;    // bumped by each new phase
  uint64_t total_blocks_ = 0, scanned_blocks_ = 0;
  uint64_t copied_bytes_ = 0, phases_done_ = 0;
  uint64_t throttle_until_micros_ = 0;
  uint64_t last_report_micros_ = 0;
  uint64_t started_micros_ = 0;
  bool waiting_throttle_ = false;
  std::set<uint64_t> corrupt_;
  bool finished_called_ = false;
};

}  // namespace cstor::replica
