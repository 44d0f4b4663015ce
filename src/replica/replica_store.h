// ReplicaStore: one volume's storage as the replica protocol needs it. Production wraps an
// engine Volume (engine_store.h), running its blocking calls on a worker pool; the
// simulation (sim/) keeps blocks in memory and can lose unflushed writes in a crash.
//
// Threading contract: methods are called from the replica's event loop, and every callback
// runs later on that same loop, exactly once. Writes and unmaps apply each block only if
// their io_seq is newer than the block's version.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "wire/messages.h"

namespace cstor::replica {

class ReplicaStore {
 public:
  using Done = std::function<void(Status)>;
  template <typename T>
  using DoneWith = std::function<void(Result<T>)>;

  struct Info {
    uint64_t size = 0;
    uint32_t block_size = 0;
    uint64_t checkpoint_io_seq = 0;
    uint64_t max_io_seq = 0;
    uint64_t allocated_bytes = 0;
    std::vector<wire::SnapshotRef> snapshots;  // oldest first
    uint64_t snapshot_epoch = 0;               // the version of that list
  };

  virtual ~ReplicaStore() = default;
  virtual Info GetInfo() = 0;
  // OK while the store can serve. Otherwise (e.g. the engine fenced its pool after a failed
  // commit) every request fails, and the replica must not register with the target: it
  // holds nothing it can vouch for until its pool is reopened and it is rebuilt.
  virtual Status Health() { return Status::Ok(); }

  // Counts a write or unmap stamped io_seq as in flight from now on (its checkpoint stays
  // below it), before it is submitted; every announced io_seq is then submitted.
  virtual void AnnounceIo(uint64_t io_seq) = 0;
  // Both apply only announced io sequences.
  virtual void Write(uint64_t offset, std::string data, uint64_t io_seq, Done done) = 0;
  virtual void Read(uint64_t offset, uint32_t length, DoneWith<std::string> done) = 0;
  virtual void Unmap(uint64_t offset, uint64_t length, uint64_t io_seq, Done done) = 0;
  // Makes everything completed so far durable; answers the checkpointed io sequence.
  virtual void Flush(DoneWith<uint64_t> done) = 0;
  virtual void CreateSnapshot(std::string name, uint64_t io_seq, Done done) = 0;
  virtual void DeleteSnapshot(std::string name, Done done) = 0;
  virtual void ListSnapshots(DoneWith<std::vector<wire::SnapshotEntry>> done) = 0;
  // Records, durably, the version of the snapshot list now held.
  virtual void SetSnapshotEpoch(uint64_t epoch, Done done) = 0;
  virtual void Resize(uint64_t size, Done done) = 0;

  // ---- serving rebuilds ----
  // Opens a stream of every block newer than `since` in the live volume or a snapshot,
  // from start_block on. Answers the stream's id and the number of blocks it scans.
  virtual void OpenStream(uint64_t since, std::string snapshot, uint64_t start_block, uint64_t below,
                          DoneWith<wire::StreamOpened> done) = 0;
  virtual void NextBatch(uint64_t stream_id, uint32_t max_blocks,
                         DoneWith<wire::StreamBatch> done) = 0;
  virtual void CloseStream(uint64_t stream_id) = 0;
  // The current versions of specific blocks.
  virtual void ReadVersions(std::string snapshot, std::vector<uint64_t> blocks,
                            DoneWith<std::vector<wire::BlockVersion>> done) = 0;

  // ---- being rebuilt ----
  // Applies a block from a rebuild source unless the local version's io_seq is at least
  // keep_at.
  virtual void ApplyVersion(wire::BlockVersion version, uint64_t keep_at, Done done) = 0;
  // Blocks of the live volume whose io_seq is in (above, below).
  virtual void ChangedBetween(uint64_t above, uint64_t below,
                              DoneWith<std::vector<uint64_t>> done) = 0;
  virtual void HoldCheckpoint(std::optional<uint64_t> at) = 0;
};

}  // namespace cstor::replica
