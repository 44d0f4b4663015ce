// Journal: block-map changes that reads already see but the metadata store does not hold
// yet, grouped into epochs, and the thread that commits them (group commit).
//
// The life of a write: its data goes to newly allocated space; then Apply() records the
// new version in the active epoch and decides the fate of the version it replaces:
//   - a snapshot still needs it: it is preserved (moved to the old-version map);
//   - it was never committed (written in this same epoch): its space is released at once;
//   - otherwise: its space is released only after this epoch's commit is durable.
// A commit swaps in a fresh active epoch, syncs the data devices the epoch wrote, then
// writes all of its records, the changed allocation bitmap chunks and the volumes'
// counters in one synced batch. Data is therefore durable before any metadata that points
// to it, and space is never reused while durable metadata may still point to it.
//
// A commit starts when Flush() asks for one, when the active epoch reaches half its size
// limit, or when the commit interval has passed. Writers wait (back-pressure) while the
// active epoch is at its limit. A failed sync or store write fences the journal: every
// later call fails with that error, and the pool must be reopened.
//
// Lock order: commit_mu_ before mu_ before the allocator's lock.
// Thread-safety: all methods are thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "engine/allocator.h"
#include "engine/block_cache.h"
#include "engine/block_key.h"
#include "engine/format.h"
#include "engine/meta_store.h"
#include "env/env.h"

namespace cstor::engine {

struct OldKey {
  uint64_t volume = 0, lba = 0, birth = 0;
  friend auto operator<=>(const OldKey&, const OldKey&) = default;
};

// Signed changes to a volume's counters.
struct CounterDelta {
  int64_t live_blocks = 0;
  int64_t held_blocks = 0;
};

class Journal {
 public:
  struct Options {
    uint64_t max_epoch_blocks = 32768;
    // Data written by one epoch. Replaced space is only reused after the commit, so this
    // also bounds how much space can be waiting to be freed.
    uint64_t max_epoch_bytes = 64 << 20;
    uint64_t commit_interval_micros = 1'000'000;
  };

  // One block of a write, as the volume prepared it under the block's stripe lock.
  struct Change {
    uint64_t lba = 0;
    BlockRecord rec;                 // the new version
    std::optional<BlockRecord> old;  // the live version it replaces, if any
  };

  Journal(Env* env, MetaStore* store, Allocator* alloc, BlockCache* cache,
          std::vector<File*> devices, Options options);
  ~Journal();

  void Start();
  // Commits what is pending and stops the commit thread.
  Status Close();

  void AddVolume(uint64_t volume, const VolumeCounters& committed, uint32_t units_per_block);
  void RemoveVolume(uint64_t volume);
  // Committed counters plus everything pending.
  VolumeCounters Counters(uint64_t volume);

  // io sequence tracking for the checkpoint: every write or unmap that carries an io_seq
  // is bracketed by BeginIo / EndIo. io_seq 0 means "not stamped" and is ignored.
  void BeginIo(uint64_t volume, uint64_t io_seq);
  void EndIo(uint64_t volume, uint64_t io_seq, bool applied);
  // While held at `at`, the volume's persisted checkpoint does not advance past `at`; a
  // replica being rebuilt holds it where its rebuild started. nullopt releases the hold
  // and forgets failed ios (the rebuild has restored what they missed); the next commit
  // records the checkpoint reached meanwhile.
  void HoldCheckpoint(uint64_t volume, std::optional<uint64_t> at);

  // Blocks while the active epoch is full.
  Status WaitForRoom();
  // Records one volume's changes. REQUIRES: the caller holds the stripe locks of every
  // block in `changes`, and no snapshot newer than latest_snapshot_gen exists.
  Status Apply(uint64_t volume, std::span<const Change> changes, uint64_t latest_snapshot_gen);

  // Everything applied before the call is durable when it returns OK.
  Status Flush();

  // Commits an administrative batch (volume or snapshot changes) through the commit path:
  // marks `frees` free in the stored bitmap within the same batch, applies counter deltas,
  // writes synchronously, then releases `frees`. The caller must have flushed the volumes
  // it changes and must keep them quiet until this returns.
  Status CommitAdmin(MetaStore::Batch batch, const std::vector<Extent>& frees,
                     const std::map<uint64_t, CounterDelta>& deltas);

  // ---- lookups of pending state (active epoch first) ----
  // True if the journal holds a version of key.
  bool Lookup(const BlockKey& key, BlockRecord* rec);
  // For blocks [lba, lba + out.size()): sets out[i] and found[i] where the journal holds
  // a version.
  void LookupRange(uint64_t volume, uint64_t lba, std::span<std::optional<BlockRecord>> out,
                   std::vector<bool>* found);
  // The newest preserved version of (volume, lba) with birth <= max_birth, if pending.
  std::optional<std::pair<uint64_t, OldRecord>> LookupOld(uint64_t volume, uint64_t lba,
                                                          uint64_t max_birth);
  // Pending live versions of blocks [lo, hi) of a volume, newest state per block.
  void CollectBlocks(uint64_t volume, uint64_t lo, uint64_t hi,
                     std::map<uint64_t, BlockRecord>* out);
  // Pending preserved versions of blocks [lo, hi), keyed by (lba, birth).
  void CollectOld(uint64_t volume, uint64_t lo, uint64_t hi,
                  std::map<std::pair<uint64_t, uint64_t>, OldRecord>* out);

  // True if space replaced by applied writes waits for a commit to be reused. A writer
  // that found no space may Flush and try again.
  bool HasPendingFrees();

  // OK, or the error that fenced the journal (or "closed" after Close). Cheap while OK (no
  // lock): every read checks it, since a fenced journal has lost the failed epoch's records
  // and the older ones it would fall back to are stale.
  Status fenced();
  uint64_t commits();

 private:
  struct VolumeDelta {
    CounterDelta counters;
    uint64_t max_io_seq = 0;
    uint64_t checkpoint = 0;  // decided when the epoch stops accepting writes
    uint32_t units = 1;       // allocation units per block
  };
  struct Epoch {
    uint64_t id = 0;
    uint64_t started_micros = 0;
    std::map<BlockKey, BlockRecord> blocks;
    std::map<OldKey, OldRecord> preserved;
    std::vector<Extent> release_after_commit;
    std::map<uint64_t, VolumeDelta> volumes;
    std::set<uint32_t> devices;
    uint64_t data_units = 0;  // allocation units written by the epoch's changes
    bool empty() const { return blocks.empty() && volumes.empty(); }
  };
  struct VolumeState {
    uint32_t units_per_block = 1;
    VolumeCounters committed;               // guarded by commit_mu_
    std::multiset<uint64_t> inflight;       // guarded by mu_
    uint64_t max_applied = 0;               // guarded by mu_
    std::optional<uint64_t> hold;           // guarded by mu_
    // A stamped io that failed may be partly applied: the checkpoint stays below it until
    // a rebuild (which releases the hold) has brought the volume up to date.
    uint64_t failed_cap = UINT64_MAX;       // guarded by mu_
  };

  void Run();
  bool ShouldCommit() REQUIRES(mu_);
  // The active epoch has reached its limit (full) or half of it (time to commit).
  bool Full(const Epoch& e, uint64_t divisor = 1) const;
  void SealCheckpoints(Epoch& e) REQUIRES(mu_);
  Status CommitEpoch(Epoch& e) REQUIRES(commit_mu_);
  void AddCounters(MetaStore::Batch& b, uint64_t volume, const CounterDelta& d,
                   const VolumeDelta* io) REQUIRES(commit_mu_);
  void AddDirtyChunks(MetaStore::Batch& b) REQUIRES(commit_mu_);
  void Fence(const Status& s) EXCLUDES(mu_);
  void SetFencedLocked(Status s) REQUIRES(mu_);
  Extent ExtentOf(uint64_t volume, const BlockRecord& r) REQUIRES(mu_);

  Env* const env_;
  MetaStore* const store_;
  Allocator* const alloc_;
  BlockCache* const cache_;
  const std::vector<File*> devices_;
  const Options options_;

  Mutex commit_mu_ ACQUIRED_BEFORE(mu_);
  Mutex mu_;
  CondVar work_cv_{&mu_};  // the committer waits for work
  CondVar done_cv_{&mu_};  // flushers wait for commits
  CondVar room_cv_{&mu_};  // writers wait for room
  std::unique_ptr<Epoch> active_ GUARDED_BY(mu_);
  std::unique_ptr<Epoch> committing_ GUARDED_BY(mu_);
  std::map<uint64_t, std::unique_ptr<VolumeState>> volumes_ GUARDED_BY(mu_);
  uint64_t next_epoch_id_ GUARDED_BY(mu_) = 1;
  uint64_t committed_id_ GUARDED_BY(mu_) = 0;
  uint64_t commits_ GUARDED_BY(mu_) = 0;
  bool flush_requested_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  Status fenced_ GUARDED_BY(mu_);
  std::atomic<bool> any_fence_{false};  // set, under mu_, once fenced_ is not OK
  std::thread thread_;
};

}  // namespace cstor::engine
