// SimStore: a replica's storage in the simulation. It keeps blocks in memory with the
// engine's contract — newer-wins writes, per-block io sequence numbers, a checkpoint that
// never covers a write still in flight, held checkpoints, snapshots, change streams — and
// completes every operation after a simulated disk latency. A crash keeps what was flushed
// and, of what was not, a random subset of blocks.
//
// Unflushed writes stay volatile as long as the contract allows: a seed may have no
// background commit at all, so only a Flush (or a snapshot) makes anything durable. Disk
// faults: a slow disk, IO errors on writes, and a failed fsync, which fences the store as
// the engine fences its pool (every later operation fails) until the process restarts.
//
// It stands in for the engine because the engine's background threads would make runs
// non-deterministic; the engine's own contract is proved separately (tests/engine_*).
#pragma once

#include <map>
#include <set>

#include "replica/replica_store.h"
#include "sim/sim_world.h"

namespace cstor::sim {

class SimStore final : public replica::ReplicaStore {
 public:
  SimStore(SimWorld* world, std::string name, uint64_t size, uint32_t block_size);

  // ---- faults ----
  void Crash();                                     // lose volatile state, keep durable
  void Corrupt(uint64_t block);                     // its data fails the checksum
  bool corrupt(uint64_t block) const { return corrupt_.contains(block); }
  // Latency of every operation while slow, in [lo, hi] microseconds; {0, 0}: normal.
  void SetSlow(uint64_t lo, uint64_t hi) { slow_lo_ = lo, slow_hi_ = hi; }
  void SetAlive(bool alive) { alive_ = alive; }     // a dead store never completes
  // Commits on its own every [lo, hi] microseconds; {0, 0}: never (only flushes commit).
  void SetBackgroundCommit(uint64_t lo, uint64_t hi);
  void SetWriteErrors(bool on) { write_errors_ = on; }  // writes and unmaps fail with EIO
  // Reads take this much longer (a disk that hangs on reads, not on writes); 0: normal.
  void SetReadStall(uint64_t micros) { read_stall_ = micros; }
  // Flushes take [lo, hi] microseconds (a disk whose syncs are slow); {0, 0}: as any IO.
  void SetSlowFlush(uint64_t lo, uint64_t hi) { flush_lo_ = lo, flush_hi_ = hi; }
  void FailNextFlush() { fail_flush_ = true; }         // its fsync fails: the store fences
  bool fenced() const { return fenced_; }
  void ClearFaults();  // well again: not slow, no errors, no stalls, no failing fsync
  // Called when the store fences (its process is then restarted, as a pool manager would).
  void OnFence(std::function<void()> fn) { on_fence_ = std::move(fn); }
  // Fills every block with bytes of another history (an earlier life of the volume, or
  // another volume), durable, at io sequences from io_seq_base up, checkpointed.
  void FillForeign(uint64_t io_seq_base);
  // The live block map, for convergence checks: block -> (io_seq, data or "" when absent).
  struct Block {
    uint64_t io_seq = 0;
    bool unmapped = false;
    std::string data;  // block_size bytes unless unmapped
    friend bool operator==(const Block&, const Block&) = default;
  };
  const std::map<uint64_t, Block>& live() const { return live_; }
  const std::map<uint64_t, Block>* snapshot(const std::string& name) const;
  std::string ReadDirect(uint64_t block) const;  // block_size bytes, zeros when absent

  // ---- ReplicaStore ----
  Info GetInfo() override;
  Status Health() override { return fenced_ ? Fenced() : Status::Ok(); }
  void AnnounceIo(uint64_t io_seq) override { inflight_.insert(io_seq); }
  void Write(uint64_t offset, std::string data, uint64_t io_seq, Done done) override;
  void Read(uint64_t offset, uint32_t length, DoneWith<std::string> done) override;
  void Unmap(uint64_t offset, uint64_t length, uint64_t io_seq, Done done) override;
  void Flush(DoneWith<uint64_t> done) override;
  void CreateSnapshot(std::string name, uint64_t io_seq, Done done) override;
  void DeleteSnapshot(std::string name, Done done) override;
  void ListSnapshots(DoneWith<std::vector<wire::SnapshotEntry>> done) override;
  void SetSnapshotEpoch(uint64_t epoch, Done done) override;
  void Resize(uint64_t size, Done done) override;
  void OpenStream(uint64_t since, std::string snapshot, uint64_t start_block,
                  DoneWith<wire::StreamOpened> done) override;
  void NextBatch(uint64_t stream_id, uint32_t max_blocks, DoneWith<wire::StreamBatch> done) override;
  void CloseStream(uint64_t stream_id) override;
  void ReadVersions(std::string snapshot, std::vector<uint64_t> blocks,
                    DoneWith<std::vector<wire::BlockVersion>> done) override;
  void ApplyVersion(wire::BlockVersion version, uint64_t keep_at, Done done) override;
  void ChangedBetween(uint64_t above, uint64_t below, DoneWith<std::vector<uint64_t>> done) override;
  void HoldCheckpoint(std::optional<uint64_t> at) override;

 private:
  struct Snapshot {
    std::string name;
    uint64_t io_seq = 0;
    uint64_t size = 0;
    std::map<uint64_t, Block> blocks;
  };
  struct Stream {
    std::string snapshot;
    std::vector<uint64_t> blocks;  // candidates, in order
    size_t next = 0;
    uint64_t since = 0;
  };

  // Completes fn after a disk latency, unless the store crashed meanwhile.
  void Later(std::function<void()> fn);
  Status CheckRange(uint64_t offset, uint64_t length) const;
  Status Fenced() const;  // the error every operation gets once fenced
  void FailIo(uint64_t io_seq, Status s, Done done);
  void Commit();  // what a Flush or a background commit makes durable
  uint64_t CheckpointCandidate() const;
  wire::BlockVersion VersionOf(const std::map<uint64_t, Block>& blocks, uint64_t block) const;
  const std::map<uint64_t, Block>* View(const std::string& snapshot) const;

  SimWorld* world_;
  std::string name_;
  uint64_t size_;
  uint32_t bs_;
  uint64_t slow_lo_ = 0, slow_hi_ = 0;
  bool alive_ = true;
  bool write_errors_ = false;
  uint64_t read_stall_ = 0;
  uint64_t flush_lo_ = 0, flush_hi_ = 0;
  std::function<void()> on_fence_;
  bool fail_flush_ = false;
  bool fenced_ = false;
  uint64_t incarnation_ = 0;

  std::map<uint64_t, Block> live_, durable_;
  std::set<uint64_t> corrupt_;
  std::vector<Snapshot> snapshots_;
  uint64_t snapshot_epoch_ = 0;
  uint64_t durable_size_;
  // checkpoint state, as in the engine's journal
  uint64_t checkpoint_ = 0;
  uint64_t max_applied_ = 0;
  uint64_t durable_max_ = 0;
  std::multiset<uint64_t> inflight_;
  std::optional<uint64_t> hold_;
  uint64_t failed_cap_ = UINT64_MAX;
  std::map<uint64_t, Stream> streams_;
  uint64_t next_stream_ = 1;
  std::shared_ptr<std::function<void()>> commit_loop_;  // the periodic commit
  uint64_t commit_lo_ = 0, commit_hi_ = 0;
};

}  // namespace cstor::sim
