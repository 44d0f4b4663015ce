#include "engine/block_cache.h"

#include <algorithm>

namespace cstor::engine {

BlockCache::BlockCache(size_t capacity_bytes)
    : shards_(new Shard[kShards]),
      slots_per_shard_(std::max<size_t>(16, capacity_bytes / kBytesPerEntry / kShards)) {}

bool BlockCache::Lookup(const BlockKey& key, Value* value) {
  Shard& s = ShardFor(key);
  MutexLock l(&s.mu);
  auto it = s.index.find(key);
  if (it == s.index.end()) return false;
  Slot& slot = s.slots[it->second];
  slot.referenced = true;
  *value = slot.value;
  return true;
}

void BlockCache::InsertIfAbsent(const BlockKey& key, const Value& value) {
  Shard& s = ShardFor(key);
  MutexLock l(&s.mu);
  Put(s, key, value, /*overwrite=*/false);
}

void BlockCache::Upsert(const BlockKey& key, const Value& value) {
  Shard& s = ShardFor(key);
  MutexLock l(&s.mu);
  Put(s, key, value, /*overwrite=*/true);
}

void BlockCache::Put(Shard& s, const BlockKey& key, const Value& value, bool overwrite) {
  auto it = s.index.find(key);
  if (it != s.index.end()) {
    if (overwrite) s.slots[it->second].value = value;
    return;
  }
  size_t victim;
  if (s.slots.size() < slots_per_shard_) {
    victim = s.slots.size();
    s.slots.emplace_back();
  } else {
    // CLOCK: sweep, giving referenced slots a second chance.
    while (true) {
      Slot& slot = s.slots[s.hand];
      if (!slot.used || !slot.referenced) break;
      slot.referenced = false;
      s.hand = (s.hand + 1) % s.slots.size();
    }
    victim = s.hand;
    s.hand = (s.hand + 1) % s.slots.size();
    if (s.slots[victim].used) s.index.erase(s.slots[victim].key);
  }
  s.slots[victim] = Slot{key, value, false, true};
  s.index[key] = victim;
}

void BlockCache::EraseVolume(uint64_t volume) {
  for (size_t i = 0; i < kShards; i++) {
    Shard& s = shards_[i];
    MutexLock l(&s.mu);
    for (Slot& slot : s.slots) {
      if (slot.used && slot.key.volume == volume) {
        s.index.erase(slot.key);
        slot.used = false;
      }
    }
  }
}

size_t BlockCache::entries() {
  size_t n = 0;
  for (size_t i = 0; i < kShards; i++) {
    MutexLock l(&shards_[i].mu);
    n += shards_[i].index.size();
  }
  return n;
}

}  // namespace cstor::engine
