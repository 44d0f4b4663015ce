// BlockCache: a bounded cache of committed live block-map entries, so the read and write
// paths do not pay a metadata-store lookup per block. Entries are kept in pages of 64
// consecutive blocks of one volume: a sequential 128 KiB IO touches one page, and each
// entry is an array slot rather than a hash-table node. The cache also remembers blocks
// that have no entry ("never written"), which are common in thin volumes.
//
// The cache only ever holds committed state. Correctness relies on two rules kept by the
// callers: the committer Upserts a commit's entries before removing them from the journal,
// and readers insert what they read from the store with InsertIfAbsent while holding the
// block's stripe lock (so no newer version can be committed in between).
//
// Eviction is CLOCK over pages, per shard. Thread-safety: all methods are thread-safe.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
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
  static constexpr uint64_t kPageBlocks = 64;

  explicit BlockCache(size_t capacity_bytes);

  // Returns true and sets *value on a hit.
  bool Lookup(const BlockKey& key, Value* value);
  // Looks up blocks [lba, lba + out.size()); found[i] tells which were hits.
  void LookupRange(uint64_t volume, uint64_t lba, std::span<Value> out, std::vector<bool>* found);
  void InsertIfAbsent(const BlockKey& key, const Value& value);
  void Upsert(const BlockKey& key, const Value& value);
  // Upserts a commit's entries, taking each page's lock once.
  void UpsertAll(const std::map<BlockKey, BlockRecord>& sorted);
  // Drops every entry of a volume (it was deleted).
  void EraseVolume(uint64_t volume);

  size_t entries();
  static constexpr size_t kBytesPerEntry = 48;  // page slot, with the page's own overhead

 private:
  struct PageId {
    uint64_t volume = 0, page = 0;
    friend bool operator==(const PageId&, const PageId&) = default;
  };
  struct PageIdHash {
    size_t operator()(const PageId& p) const { return BlockKeyHash()({p.volume, p.page}); }
  };
  struct Page {
    PageId id;
    bool used = false;
    bool referenced = false;
    uint64_t known = 0;    // bit i: entry i is cached
    uint64_t present = 0;  // bit i: entry i has a record (else: no entry in the store)
    BlockRecord recs[kPageBlocks];
  };
  struct Shard {
    Mutex mu;
    std::vector<Page> pages GUARDED_BY(mu);
    std::unordered_map<PageId, size_t, PageIdHash> index GUARDED_BY(mu);
    size_t hand GUARDED_BY(mu) = 0;
  };
  static constexpr size_t kShards = 16;

  static PageId PageOf(const BlockKey& key) { return {key.volume, key.lba / kPageBlocks}; }
  Shard& ShardFor(const PageId& id) { return shards_[PageIdHash()(id) % kShards]; }
  // The page, or nullptr. REQUIRES: shard.mu held.
  Page* Find(Shard& s, const PageId& id);
  // The page, created (evicting another) if missing. REQUIRES: shard.mu held.
  Page* FindOrCreate(Shard& s, const PageId& id);
  static void Set(Page& p, uint64_t slot, const Value& value);

  std::unique_ptr<Shard[]> shards_;
  size_t pages_per_shard_;
};

}  // namespace cstor::engine
