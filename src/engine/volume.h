// Volume: a thin block device inside a Pool, addressed in bytes at 512-byte granularity.
// Obtained from Pool::CreateVolume / OpenVolume / CloneVolume; one object per volume.
//
// Every write and unmap may carry an io sequence number (io_seq, from the replication
// target; 0 = none). The engine stores it per block and keeps a checkpoint: the highest
// N such that every write with io_seq <= N handed to this volume is durable. Writes
// should be submitted in io_seq order; a write is counted from the moment its call starts.
//
// Thread-safety: all methods are thread-safe. Concurrent writes to the same block are
// applied in some order, one after the other.
#pragma once

#include <atomic>
#include <map>
#include <optional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "base/result.h"
#include "engine/format.h"
#include "engine/journal.h"
#include "engine/stripe_locks.h"
#include "engine/types.h"

namespace cstor::engine {

inline constexpr uint64_t kAlways = UINT64_MAX;  // keep_at that never keeps the old version

struct PoolCore;
class ChangeIterator;

// Where a change stream starts, and whether its changes carry data (without, only each
// block's version: a rebuild lists its own recent blocks this way).
struct ChangeStreamOptions {
  uint64_t start_block = 0;
  bool with_data = true;
  uint64_t below = UINT64_MAX;  // only versions with a lower io_seq
};

class Volume : public std::enable_shared_from_this<Volume> {
 public:
  // ---- IO ----
  // offset and size must be multiples of 512 and inside the volume.
  Status Read(uint64_t offset, std::span<std::byte> out);
  // With newer_only, each block is replaced only if io_seq is newer than the io_seq of its
  // current version; replicas apply the target's writes this way, so the order in which
  // writes to a block arrive does not matter.
  // With `announced`, io_seq was passed to AnnounceIo earlier (see below).
  Status Write(uint64_t offset, std::span<const std::byte> data, uint64_t io_seq = 0,
               bool newer_only = false, bool announced = false);
  // Deallocates; the range then reads as zeros. newer_only and announced as for Write.
  Status Unmap(uint64_t offset, uint64_t length, uint64_t io_seq = 0, bool newer_only = false,
               bool announced = false);
  // Counts a stamped write or unmap as in flight before it is submitted (a replica queues
  // requests before running them), so that no checkpoint covers it until it completes. It
  // must then be submitted with announced = true.
  void AnnounceIo(uint64_t io_seq);
  Status Flush();
  Status Grow(uint64_t new_size);

  // ---- snapshots ----
  // A snapshot holds the volume as of the call; it is durable when this returns. It
  // records io_seq as where it stands in the write history (by default the highest io_seq
  // written so far; the replication target names it).
  Result<SnapshotInfo> CreateSnapshot(const std::string& name,
                                      std::optional<uint64_t> io_seq = std::nullopt);
  // Refused while clones of the snapshot exist.
  Status DeleteSnapshot(const std::string& name);
  // Flushes first, so that the space figures include every write so far. Without
  // `space`, it neither flushes nor computes space figures (they stay 0): cheap enough for
  // an event loop.
  std::vector<SnapshotInfo> ListSnapshots(bool space = true);
  Status ReadSnapshot(const std::string& snapshot, uint64_t offset, std::span<std::byte> out);

  // ---- rebuild support ----
  // Streams every block (of the live volume, or of `snapshot`) whose io_seq is > since
  // (and < options.below), with its data; unmapped blocks come as unmaps. For clones, only the clone's own
  // blocks (those written after it was created).
  Result<std::unique_ptr<ChangeIterator>> ChangedSince(uint64_t since,
                                                       const std::string& snapshot = "",
                                                       ChangeStreamOptions options = {});
  // Applies one block of a change stream unless the local version's io_seq is at least
  // keep_at (by default the change's own io_seq: newer wins). A rebuild passes the first
  // io_seq of the live writes it receives, so that rebuilt blocks replace anything older,
  // including writes the source never had. Returns whether it was applied. Data must be a
  // whole block; an `absent` change removes the block's own version.
  Result<bool> ApplyChange(const BlockChange& change, std::optional<uint64_t> keep_at = {});
  // The version of one block (of the live volume, or of a snapshot) with its data.
  Result<BlockChange> ReadVersion(uint64_t lba, const std::string& snapshot = "");
  // While held, the checkpointed io sequence does not advance past `at`; nullopt releases.
  void HoldCheckpoint(std::optional<uint64_t> at);

  // Visits the live block map in block order (for dump tools).
  Status ForEachBlock(const std::function<bool(uint64_t lba, const BlockRecord&)>& fn);

  // Small named values kept with the volume, durable when set (the replication layer keeps
  // its snapshot epoch here). An empty value removes the attribute.
  Status SetAttribute(const std::string& name, const std::string& value);
  std::optional<std::string> GetAttribute(const std::string& name);

  // OK while the volume serves IO. Once the pool is fenced (a commit failed), closed, or the
  // volume deleted, the error that every read, write and change stream now fails with.
  Status Health() const { return CheckUsable(); }

  VolumeInfo Info();
  uint64_t CheckpointedIoSeq();
  const std::string& name() const { return record_.name; }
  uint64_t id() const { return record_.id; }
  uint64_t size() const { return size_.load(); }
  uint32_t block_size() const { return record_.block_size; }

  // Internal: constructed by the pool.
  Volume(PoolCore* core, VolumeRecord record, std::shared_ptr<Volume> origin);
  ~Volume();

 private:
  friend class Pool;
  friend class ChangeIterator;
  friend struct PoolCore;

  // Checks alignment and that the range lies inside `size` (default: the volume's).
  Status CheckRange(uint64_t offset, uint64_t length, uint64_t size = 0) const;
  Status CheckUsable() const;
  // The pool accepts new data; if it is short of space while replaced space waits for a
  // commit, commits first and asks again.
  Status CheckWritableOrReclaim();
  uint32_t units_per_block() const { return record_.block_size / kUnitSize; }
  uint64_t blocks() const { return size() / block_size(); }

  // The version of block lba visible at generation gen (kLiveGen = the live volume). With
  // follow_origin, a clone without its own version answers from its origin snapshot.
  // `locked`: the caller holds lba's stripe lock (only then may the lookup fill the cache).
  Result<std::optional<BlockRecord>> ResolveAt(uint64_t lba, uint64_t gen, bool follow_origin,
                                               bool locked);
  // Reads [offset, offset + out.size()) as seen at gen, taking stripe locks for live reads;
  // fails if the pool was fenced by the time it has read.
  Status ReadRange(uint64_t offset, std::span<std::byte> out, uint64_t gen);
  Status ReadRangeUnfenced(uint64_t offset, std::span<std::byte> out, uint64_t gen);
  // Reads whole blocks [first, first + n) into out (n blocks, kIoAlignment-aligned).
  // REQUIRES: for live reads, the stripes of those blocks are held.
  Status ReadBlocksLocked(uint64_t first, uint64_t n, uint64_t gen, std::span<std::byte> out);
  Status ReadResolved(std::span<const std::optional<BlockRecord>> recs, uint64_t first,
                      std::span<std::byte> out);
  // Checks a block's data against its record, counting and describing a mismatch.
  Status Verify(uint64_t lba, const BlockRecord& rec, std::span<const std::byte> data);

  // Writes whole blocks [first, first + n) from data, skipping blocks whose current
  // version has io_seq >= keep_at (kAlways: none). Returns how many were written.
  // REQUIRES: their stripes held exclusively.
  Result<uint64_t> WriteBlocksLocked(uint64_t first, uint64_t n, std::span<const std::byte> data,
                                     uint64_t io_seq, uint64_t keep_at);
  // Allocates and writes consecutive blocks and prepares their journal changes.
  Status WriteRun(uint64_t first, std::span<const std::byte> data, uint64_t io_seq,
                  const std::vector<std::optional<BlockRecord>>& old, size_t old_base,
                  std::vector<Journal::Change>* changes, std::vector<Extent>* allocated);
  // Writes a byte range inside one chunk, reading partial head and tail blocks first.
  Status WriteChunk(uint64_t offset, std::span<const std::byte> data, uint64_t io_seq,
                    uint64_t keep_at);
  // Replaces every version with data in blocks [first, end) by an unmapped version,
  // skipping blocks whose version has io_seq >= keep_at.
  Status UnmapBlocks(uint64_t first, uint64_t end, uint64_t io_seq, uint64_t keep_at);
  Status UnmapRange(uint64_t offset, uint64_t length, uint64_t io_seq, bool newer_only);
  // Blocks in [lo, hi) that may hold data, in order, at most limit of them; for clones
  // this includes blocks the origin chain may hold.
  Status CandidateLbas(uint64_t lo, uint64_t hi, size_t limit, std::vector<uint64_t>* out);
  Status CollectOwnLbas(uint64_t lo, uint64_t hi, size_t limit, bool with_old,
                        std::vector<uint64_t>* out);
  // The sorted union of two sorted block lists, cut back to where it is complete: a list
  // marked cut holds only the first entries of a longer one.
  static void MergeComplete(const std::vector<uint64_t>& a, bool a_cut,
                            const std::vector<uint64_t>& b, bool b_cut,
                            std::vector<uint64_t>* out);

  Result<SnapshotRecord> FindSnapshot(const std::string& name);
  bool HasSnapshotGen(uint64_t gen);
  uint64_t SnapshotUsedBlocks(const SnapshotRecord& snap);
  // Neighbouring live snapshot generations of gen: (previous or 0, next or UINT64_MAX).
  std::pair<uint64_t, uint64_t> NeighbourGens(uint64_t gen);
  SnapshotInfo ToInfo(const SnapshotRecord& snap);
  // Frees what only this (already hidden) snapshot holds, then forgets it.
  Status ReclaimSnapshot(const SnapshotRecord& snap);

  PoolCore* const core_;
  VolumeRecord record_;  // size is tracked in size_
  const std::shared_ptr<Volume> origin_;
  std::atomic<uint64_t> size_;
  std::atomic<bool> deleted_{false};

  SharedMutex io_lock_;  // IO shared; snapshot, grow and delete exclusive
  StripeLocks stripes_;
  Mutex snap_mu_;
  std::vector<SnapshotRecord> snapshots_ GUARDED_BY(snap_mu_);  // by gen
  std::map<std::string, std::string> attributes_ GUARDED_BY(snap_mu_);
  std::atomic<uint64_t> latest_snapshot_gen_{0};
};

// Streams a volume's changes in block order. Not thread-safe; one consumer.
class ChangeIterator {
 public:
  // Up to max_blocks more changes; empty when the stream is done.
  Result<std::vector<BlockChange>> Next(size_t max_blocks);
  // Blocks of the volume's address space scanned so far, and in all.
  uint64_t scanned_blocks() const { return cursor_; }
  uint64_t total_blocks() const { return total_; }

  ChangeIterator(std::shared_ptr<Volume> volume, uint64_t since, uint64_t gen, uint64_t total,
                 uint64_t start_block, bool with_data, uint64_t below = UINT64_MAX);

 private:
  std::shared_ptr<Volume> volume_;
  const uint64_t since_;
  const uint64_t gen_;  // UINT64_MAX: the live volume
  const uint64_t total_;
  const bool with_data_;
  const uint64_t below_;
  uint64_t cursor_ = 0;
};

}  // namespace cstor::engine
