// ReplicatedVolume: the target's side of synchronous replication for one volume. Every
// write gets the next io sequence number, goes to every connected replica, and is
// acknowledged once a quorum (CF = RF/2 + 1) of healthy replicas has it; a replica that
// falls behind is dropped from the quorum and rebuilt from a healthy peer while it keeps
// receiving new writes. docs/replication.md explains the rules and why they hold.
//
// It is a state machine (see transport.h): the event loop feeds it connections, frames and
// ticks, and client IO; it answers through its Transport and the IO callbacks.
//
// Threading: not thread-safe. Every method, and every callback it makes, runs on the
// volume's event loop. Each IO callback is called exactly once.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "replication/options.h"
#include "base/range_lock.h"
#include "replication/transport.h"
#include "replication/volume_status.h"
#include "wire/messages.h"

namespace cstor::replication {

class ReplicatedVolume : public Handler {
 public:
  using Done = std::function<void(Status)>;
  using ReadDone = std::function<void(Result<std::string>)>;

  ReplicatedVolume(VolumeConfig config, Transport* transport);
  ~ReplicatedVolume() override;

  // ---- Handler ----
  void OnConnected(ConnId conn, bool outgoing) override;
  void OnFrame(ConnId conn, wire::Frame frame) override;
  void OnClosed(ConnId conn, const Status& why) override;
  void OnTick() override;

  // ---- client IO (offsets and lengths in bytes, multiples of 512) ----
  void Write(uint64_t offset, std::string data, Done done);
  void Read(uint64_t offset, uint32_t length, ReadDone done);
  void Unmap(uint64_t offset, uint64_t length, Done done);
  void Flush(Done done);

  // ---- management ----
  void CreateSnapshot(std::string name, Done done);
  void DeleteSnapshot(std::string name, Done done);
  void ListSnapshots(std::function<void(Result<std::vector<wire::SnapshotEntry>>)> done);
  void Resize(uint64_t new_size, Done done);

  VolumeStatus GetStatus() const;
  Phase phase() const;
  uint64_t size() const { return size_; }
  uint32_t block_size() const { return block_size_; }
  // Called when the set of known replicas changes (a new replica was admitted), so that
  // the caller can persist it.
  void OnKnownReplicasChanged(std::function<void(const std::map<std::string, uint64_t>&)> fn) {
    known_changed_ = std::move(fn);
  }
  // Called when the volume forms a quorum from no healthy replica (after start-up, or after
  // losing every healthy one), with the replicas whose data it was reconciled from. A
  // replica not among them may hold acknowledged writes that were not carried over.
  void OnReconciled(std::function<void(const std::vector<std::string>&)> fn) {
    reconciled_ = std::move(fn);
  }

 private:
  struct WriteOp;
  struct Pending;
  struct Session;
  struct RebuildState;

  // ---- sessions (replicated_volume.cc) ----
  Session* FindSession(ConnId conn);
  Session* FindReplica(const std::string& replica_id);
  void HandleHello(Session& s, const wire::Frame& f);
  void HandleAuth(Session& s, const wire::Frame& f);
  void HandleRequestFromReplica(Session& s, const wire::Frame& f);
  void HandleResponse(Session& s, wire::Frame f);
  void Reject(Session& s, Code code, const std::string& why);
  // Sends a request; `reply` gets its response (or the error that ended the session).
  void SendRequest(Session& s, wire::Op op, std::string payload,
                   std::function<void(Status, const wire::Frame*)> reply,
                   std::shared_ptr<WriteOp> write = nullptr);
  // Drops a replica: closes its session; it reconnects and is rebuilt.
  void Drop(Session& s, const Status& why);
  void EndSession(ConnId conn, const Status& why);
  void CheckTimers(Session& s, uint64_t now);
  std::vector<Session*> Healthy();
  uint32_t cf() const { return ConsistencyFactor(config_.replication_factor); }

  // ---- IO (replicated_io.cc) ----
  Status CheckIo(uint64_t offset, uint64_t length) const;
  Status Serving() const;
  void WriteBlocks(uint64_t first, std::string data, Done done);
  // Gives a write of whole blocks (or an unmap) its io sequence and sends it, or holds it
  // while a replica's write window is full (flow control).
  void IssueWrite(uint64_t first, uint64_t blocks, wire::Op op, std::string payload, Done done);
  void SendWrite(uint64_t first, uint64_t blocks, wire::Op op, std::string payload, Done done);
  bool WindowFull() const;
  // Sends held writes while no window is full; called whenever a write is answered or a
  // replica leaves.
  void AdmitHeldWrites();
  void ReadModifyWrite(uint64_t offset, std::string data, Done done);
  // Reads whole blocks from one healthy replica that has every acknowledged write to them;
  // answers which replica served it (for repairs).
  using BlockReadDone = std::function<void(Result<std::string>, ConnId served_by)>;
  void ReadBlocks(uint64_t first, uint64_t blocks, std::set<ConnId> tried, BlockReadDone done);
  Session* PickReader(uint64_t first, uint64_t blocks, const std::set<ConnId>& exclude,
                      bool* must_wait);
  void RetryWaitingReads();
  void Repair(ConnId bad, ConnId good, uint64_t first, uint64_t blocks);
  void FinishWrite(WriteOp& op, ConnId from, bool counted, const Status& s);

  // ---- management (replicated_admin.cc) ----
  // Snapshot changes run one at a time, so that every snapshot list a replica is given (by
  // a change, or with a rebuild plan) comes with the epoch that names exactly that list.
  void RunSnapshotOp(std::function<void(Done)> op, Done done);
  void NextSnapshotOp();
  void CreateSnapshotLocked(std::string name, RangeLock::Id lock, Done done);
  void DeleteSnapshotNow(const std::string& name, Done done);

  // ---- rebuilds and start-up (rebuild_planner.cc) ----
  void Plan(uint64_t now);
  void Reconcile(uint64_t now);
  void Reconciled(std::vector<std::string> from);
  void StartRebuild(Session& target, Session& source, uint64_t now);
  void SendRebuildStart(Session& target, Session& source, bool live);
  void HandleRebuildDone(Session& s, const wire::Frame& f);
  void MakeHealthy(Session& s);
  // After a live rebuild: deletes the snapshots the replica holds that the volume no
  // longer has, then makes it healthy (or drops it if a delete failed).
  void DeleteStaleSnapshots(Session& s);
  void UpdatePhase();
  uint64_t RetryDelay(uint32_t attempts) const;

  VolumeConfig config_;
  Transport* const transport_;
  std::function<void(const std::map<std::string, uint64_t>&)> known_changed_;
  std::function<void(const std::vector<std::string>&)> reconciled_;

  uint64_t size_ = 0;
  uint32_t block_size_ = 0;
  uint64_t next_io_seq_ = 1;  // next to issue; 0 until reconciled after start-up
  bool started_ = false;      // a quorum has formed once
  Phase phase_ = Phase::kInit;
  std::string phase_message_;
  std::vector<wire::SnapshotRef> snapshots_;  // the volume's snapshots, oldest first
  uint64_t snapshot_epoch_ = 0;               // bumped by every change to snapshots_
  std::deque<std::pair<std::function<void(Done)>, Done>> snapshot_ops_;  // waiting to run
  bool snapshot_op_running_ = false;

  std::map<ConnId, std::unique_ptr<Session>> sessions_;
  uint64_t next_request_id_ = 1;
  uint64_t next_session_id_ = 1;
  RangeLock locks_;
  struct WaitingRead;
  std::deque<std::unique_ptr<WaitingRead>> waiting_reads_;
  struct HeldWrite {
    uint64_t first, blocks;
    wire::Op op;
    std::string data;
    Done done;
  };
  std::deque<HeldWrite> held_writes_;  // waiting for a full write window (flow control)
  bool admitting_ = false;
  // Rebuild attempts and their back-off, per replica id (they outlive sessions).
  std::map<std::string, uint32_t> rebuild_attempts_;
  std::map<std::string, uint64_t> rebuild_not_before_;
  std::optional<std::string> merging_into_;  // replica being reconciled into, at start-up
  std::set<std::string> merged_from_;
  std::vector<std::string> reconciled_from_;  // by the last reconciliation
  uint64_t quorum_present_since_ = 0;  // when reconciliation first had a quorum; 0: not yet

  mutable VolumeStatus counters_;
};

}  // namespace cstor::replication
