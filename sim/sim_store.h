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
// It is exact about which writes a crash takes away (for the checker), fast, and
// deterministic; EngineDisk runs the real engine in its place on some seeds.
#pragma once

#include <map>
#include <set>

#include "sim/sim_disk.h"

namespace cstor::sim {

class SimStore final : public SimDisk {
 public:
  SimStore(SimWorld* world, std::string name, uint64_t size, uint32_t block_size);

  // ---- SimDisk ----
  void Crash() override;
  bool Corrupt(uint64_t block) override;
  bool corrupt(uint64_t block) const { return corrupt_.contains(block); }
  void SetBackgroundCommit(uint64_t lo, uint64_t hi) override;
  void CommitNow() override {
    if (alive_ && !fenced_) Commit();
  }
  std::optional<Block> Look(uint64_t block, const std::string& snapshot = "") const override;
  bool HasSnapshot(const std::string& name) const override { return snapshot(name) != nullptr; }
  std::set<uint64_t> HeldWrites() const override;
  // Fills every block with bytes of another history (an earlier life of the volume, or
  // another volume), durable, at io sequences from io_seq_base up, checkpointed.
  void FillForeign(uint64_t io_seq_base);
  const std::map<uint64_t, Block>& live() const { return live_; }
  const std::map<uint64_t, Block>* snapshot(const std::string& name) const;

  // ---- ReplicaStore ----
  Info GetInfo() override;
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
  void OpenStream(uint64_t since, std::string snapshot, uint64_t start_block, uint64_t below,
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
    uint64_t below = UINT64_MAX;
  };

  Status CheckRange(uint64_t offset, uint64_t length) const;
  void FailIo(uint64_t io_seq, Status s, Done done);
  void Commit();  // what a Flush or a background commit makes durable
  void Received(uint64_t block, const std::string& data);  // volatile until Commit
  uint64_t CheckpointCandidate() const;
  wire::BlockVersion VersionOf(const std::map<uint64_t, Block>& blocks, uint64_t block) const;
  const std::map<uint64_t, Block>* View(const std::string& snapshot) const;

  uint64_t size_;
  std::map<uint64_t, std::set<uint64_t>> volatile_writes_;  // per block, since the last commit

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
