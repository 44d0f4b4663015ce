// BlockMap: one view of a pool's block maps over three layers, newest first: the journal
// (applied, not yet committed), the cache (committed, recently used) and the metadata
// store (committed).
//
// Thread-safety: thread-safe. Point lookups must be made while holding the block's stripe
// lock (see StripeLocks): that is what lets a lookup safely fill the cache.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "engine/block_cache.h"
#include "engine/format.h"
#include "engine/journal.h"
#include "engine/meta_store.h"

namespace cstor::engine {

class BlockMap {
 public:
  BlockMap(Journal* journal, BlockCache* cache, MetaStore* store)
      : journal_(journal), cache_(cache), store_(store) {}

  // The live version of a block, or nullopt if the volume has none. Lookups made without
  // the block's stripe lock must pass fill_cache = false.
  Result<std::optional<BlockRecord>> Get(const BlockKey& key, bool fill_cache = true);
  // Live versions of blocks [lba, lba + n) into out[0..n).
  Status GetRange(uint64_t volume, uint64_t lba, size_t n,
                  std::vector<std::optional<BlockRecord>>* out);
  // The newest version of (volume, lba) that a snapshot holds with birth <= max_birth.
  Result<std::optional<OldRecord>> GetOld(uint64_t volume, uint64_t lba, uint64_t max_birth);

  // Visits live versions of blocks [lo, hi) in block order until fn returns false. The
  // view is consistent as of the call; callers that act on a block re-read it under its
  // stripe lock.
  using LiveFn = std::function<bool(uint64_t lba, const BlockRecord&)>;
  Status ScanLive(uint64_t volume, uint64_t lo, uint64_t hi, const LiveFn& fn);
  // Visits versions held for snapshots, ordered by (lba, birth).
  using OldFn = std::function<bool(uint64_t lba, uint64_t birth, const OldRecord&)>;
  Status ScanOld(uint64_t volume, uint64_t lo, uint64_t hi, const OldFn& fn);

 private:
  Journal* const journal_;
  BlockCache* const cache_;
  MetaStore* const store_;
};

}  // namespace cstor::engine
