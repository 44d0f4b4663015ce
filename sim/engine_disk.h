// EngineDisk: a simulated replica's disk that is the real engine — replica::EngineStore over
// an engine pool on an in-memory Env (MemEnv) — so that seeds run with `--engine` prove the
// replication rules against the engine's own checkpoints, holds, change streams, snapshots
// and newer-wins writes, not against SimStore's model of them.
//
// A crash is a power cut of the Env: the pool is dropped without closing, every write the
// engine did not sync is kept, dropped or torn by the seed's dice, and the pool is opened
// again from what survived, as after a real power loss. Engine calls run on the world's
// thread after a simulated latency (the EngineStore's workers are the world's queue);
// nothing else of the engine touches its files on its own: it commits only when asked (a
// flush, a snapshot, the optional background commit), so a seed replays exactly.
//
// Faults as SimDisk describes them, except write errors and corrupt blocks, which only
// SimStore models. A failed fsync fences the disk in front of the engine; the engine's own
// fence is proved in src/engine/fencing_test.cc.
#pragma once

#include <map>
#include <memory>

#include "engine/pool.h"
#include "env/mem_env.h"
#include "replica/engine_store.h"
#include "sim/sim_disk.h"

namespace cstor::sim {

class EngineDisk final : public SimDisk {
 public:
  EngineDisk(SimWorld* world, std::string name, uint64_t size, uint32_t block_size);
  ~EngineDisk() override;

  // ---- SimDisk ----
  void Crash() override;
  bool Corrupt(uint64_t) override { return false; }
  bool can_fail_writes() const override { return false; }
  std::optional<std::string> Broken() const override { return broken_; }
  void SetBackgroundCommit(uint64_t lo, uint64_t hi) override;
  void CommitNow() override;
  std::optional<Block> Look(uint64_t block, const std::string& snapshot = "") const override;
  bool HasSnapshot(const std::string& name) const override;
  std::set<uint64_t> HeldWrites() const override;

  // ---- ReplicaStore: the engine's, behind the disk's latency and faults ----
  Info GetInfo() override;
  Status Health() override;
  void AnnounceIo(uint64_t io_seq) override;
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
  engine::PoolOptions Options();
  void Open(bool create, uint64_t size);
  // Runs fn (an engine call) after a disk latency, unless the disk crashes first; queued
  // calls are dropped at a crash, before the engine they refer to goes.
  void Work(std::function<void()> fn);
  // Per sector of the live volume, the client write it holds (0: none).
  std::vector<uint64_t> SectorWrites() const;
  // The error for a call the disk refuses before the engine sees it (fenced, or broken).
  std::optional<Status> Refused() const;

  MemEnv env_;
  uint64_t size_;
  std::unique_ptr<engine::Pool> pool_;
  std::shared_ptr<engine::Volume> volume_;
  std::unique_ptr<replica::EngineStore> store_;
  std::map<uint64_t, std::function<void()>> work_;
  uint64_t next_work_ = 0;
  std::optional<std::string> broken_;
  std::shared_ptr<std::function<void()>> commit_loop_;  // the periodic commit
  uint64_t commit_lo_ = 0, commit_hi_ = 0;
};

}  // namespace cstor::sim
