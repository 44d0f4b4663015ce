// EngineStore: a ReplicaStore over an engine Volume. The engine blocks (it reads and
// writes the pool's device and commits its journal), so every call that may touch the
// device runs on a worker thread; its callback is posted back to the replica's event loop.
// Calls that only read in-memory state (GetInfo, AnnounceIo, HoldCheckpoint) run inline.
//
// The replica node orders overlapping writes and puts flushes behind earlier writes, so the
// workers may run any number of calls at once; the engine is thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>

#include "base/mutex.h"
#include "engine/volume.h"
#include "replica/replica_store.h"

namespace cstor::replica {

// Runs a function elsewhere: on a worker thread, or on an event loop.
using Executor = std::function<void(std::function<void()>)>;

class EngineStore : public ReplicaStore {
 public:
  // `workers` runs the engine's calls; `loop` runs every callback (the node's event loop).
  EngineStore(std::shared_ptr<engine::Volume> volume, Executor workers, Executor loop);
  ~EngineStore() override;

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
  void NextBatch(uint64_t stream_id, uint32_t max_blocks,
                 DoneWith<wire::StreamBatch> done) override;
  void CloseStream(uint64_t stream_id) override;
  void ReadVersions(std::string snapshot, std::vector<uint64_t> blocks,
                    DoneWith<std::vector<wire::BlockVersion>> done) override;
  void ApplyVersion(wire::BlockVersion version, uint64_t keep_at, Done done) override;
  void ChangedBetween(uint64_t above, uint64_t below,
                      DoneWith<std::vector<uint64_t>> done) override;
  void HoldCheckpoint(std::optional<uint64_t> at) override;

  engine::Volume& volume() { return *volume_; }

  // The engine attribute that keeps the snapshot epoch (docs/engine-format.md).
  static constexpr const char* kSnapshotEpochAttribute = "snapshot-epoch";

 private:
  // One open change stream; a worker uses it, the loop may close it meanwhile.
  struct Stream {
    Mutex mu;
    std::unique_ptr<engine::ChangeIterator> it GUARDED_BY(mu);
    std::string snapshot;
  };

  // Runs `work` on a worker and hands its result to `done` on the loop.
  template <typename T>
  void Run(std::function<Result<T>()> work, DoneWith<T> done);
  void RunStatus(std::function<Status()> work, Done done);

  std::shared_ptr<engine::Volume> volume_;
  Executor workers_;
  Executor loop_;
  uint64_t next_stream_ = 1;
  std::map<uint64_t, std::shared_ptr<Stream>> streams_;  // loop thread only
};

}  // namespace cstor::replica
