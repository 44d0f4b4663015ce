// BlockCache: a bounded cache of committed live block-map entries, so the read path does
// not pay a metadata-store lookup per block. It also remembers blocks that have no entry
// ("never written"), which are common in thin volumes.
//
// The cache only ever holds committed state. Correctness relies on two rules kept by the
// callers: the committer Upserts a commit's entries before removing them from the journal,
// and readers insert what they read from the store with InsertIfAbsent while holding the
// block's stripe lock (so no newer version can be committed in between).
//
// Eviction is CLOCK per shard. Thread-safety: all methods are thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "base/mutex.h"
#include "engine/block_key.h"
#include "engine/format.h"

namespace cstor::engine {

class BlockCache {
 public:
  // An entry: the block's record, or nullopt meaning "no entry in the store".
  using Value = std::optional<BlockRecord>;

  explicit BlockCache(size_t capacity_bytes);

  // Returns true and sets *value on a hit.
  bool Lookup(const BlockKey& key, Value* value);
  void InsertIfAbsent(const BlockKey& key, const Value& value);
  void Upsert(const BlockKey& key, const Value& value);
  // Drops every entry of a volume (it was deleted).
  void EraseVolume(uint64_t volume);

  size_t entries();
  static constexpr size_t kBytesPerEntry = 96;  // slot + index node, measured estimate

 private:
  struct Slot {
    BlockKey key;
    Value value;
    bool referenced = false;
    bool used = false;
  };
  struct Shard {
    Mutex mu;
    std::vector<Slot> slots GUARDED_BY(mu);
    std::unordered_map<BlockKey, size_t, BlockKeyHash> index GUARDED_BY(mu);
    size_t hand GUARDED_BY(mu) = 0;
  };
  static constexpr size_t kShards = 16;

  Shard& ShardFor(const BlockKey& key) { return shards_[BlockKeyHash()(key) % kShards]; }
  void Put(Shard& shard, const BlockKey& key, const Value& value, bool overwrite);

  std::unique_ptr<Shard[]> shards_;
  size_t slots_per_shard_;
};

}  // namespace cstor::engine
