#include "engine/block_cache.h"

#include <algorithm>
#include <bit>

namespace cstor::engine {

BlockCache::BlockCache(size_t capacity_bytes)
    : shards_(new Shard[kShards]),
      pages_per_shard_(std::max<size_t>(4, capacity_bytes / sizeof(Page) / kShards)) {}

BlockCache::Page* BlockCache::Find(Shard& s, const PageId& id) NO_THREAD_SAFETY_ANALYSIS {
  auto it = s.index.find(id);
  if (it == s.index.end()) return nullptr;
  Page& p = s.pages[it->second];
  p.referenced = true;
  return &p;
}

BlockCache::Page* BlockCache::FindOrCreate(Shard& s, const PageId& id)
    NO_THREAD_SAFETY_ANALYSIS {
  if (Page* p = Find(s, id)) return p;
  size_t victim;
  if (s.pages.size() < pages_per_shard_) {
    victim = s.pages.size();
    s.pages.emplace_back();
  } else {
    // CLOCK: sweep, giving referenced pages a second chance.
    while (s.pages[s.hand].used && s.pages[s.hand].referenced) {
      s.pages[s.hand].referenced = false;
      s.hand = (s.hand + 1) % s.pages.size();
    }
    victim = s.hand;
    s.hand = (s.hand + 1) % s.pages.size();
    if (s.pages[victim].used) s.index.erase(s.pages[victim].id);
  }
  Page& p = s.pages[victim];
  p.id = id;
  p.used = true;
  p.referenced = false;
  p.known = p.present = 0;
  s.index[id] = victim;
  return &p;
}

void BlockCache::Set(Page& p, uint64_t slot, const Value& value) {
  uint64_t bit = uint64_t{1} << slot;
  p.known |= bit;
  if (value) {
    p.present |= bit;
    p.recs[slot] = *value;
  } else {
    p.present &= ~bit;
  }
}

bool BlockCache::Lookup(const BlockKey& key, Value* value) {
  PageId id = PageOf(key);
  Shard& s = ShardFor(id);
  MutexLock l(&s.mu);
  Page* p = Find(s, id);
  uint64_t slot = key.lba % kPageBlocks;
  if (p == nullptr || !((p->known >> slot) & 1)) return false;
  *value = (p->present >> slot) & 1 ? Value(p->recs[slot]) : Value();
  return true;
}

void BlockCache::LookupRange(uint64_t volume, uint64_t lba, std::span<Value> out,
                             std::vector<bool>* found) {
  found->assign(out.size(), false);
  size_t i = 0;
  while (i < out.size()) {
    PageId id{volume, (lba + i) / kPageBlocks};
    uint64_t first_slot = (lba + i) % kPageBlocks;
    size_t n = std::min<size_t>(out.size() - i, kPageBlocks - first_slot);
    Shard& s = ShardFor(id);
    MutexLock l(&s.mu);
    if (Page* p = Find(s, id)) {
      for (size_t k = 0; k < n; k++) {
        uint64_t slot = first_slot + k;
        if (!((p->known >> slot) & 1)) continue;
        out[i + k] = (p->present >> slot) & 1 ? Value(p->recs[slot]) : Value();
        (*found)[i + k] = true;
      }
    }
    i += n;
  }
}

void BlockCache::InsertIfAbsent(const BlockKey& key, const Value& value) {
  PageId id = PageOf(key);
  Shard& s = ShardFor(id);
  MutexLock l(&s.mu);
  Page* p = FindOrCreate(s, id);
  uint64_t slot = key.lba % kPageBlocks;
  if (!((p->known >> slot) & 1)) Set(*p, slot, value);
}

void BlockCache::Upsert(const BlockKey& key, const Value& value) {
  PageId id = PageOf(key);
  Shard& s = ShardFor(id);
  MutexLock l(&s.mu);
  Set(*FindOrCreate(s, id), key.lba % kPageBlocks, value);
}

void BlockCache::UpsertAll(const std::map<BlockKey, BlockRecord>& sorted) {
  auto it = sorted.begin();
  while (it != sorted.end()) {
    PageId id = PageOf(it->first);
    Shard& s = ShardFor(id);
    MutexLock l(&s.mu);
    Page* p = FindOrCreate(s, id);
    for (; it != sorted.end() && PageOf(it->first) == id; ++it) {
      Set(*p, it->first.lba % kPageBlocks, it->second.absent ? Value() : Value(it->second));
    }
  }
}

void BlockCache::EraseVolume(uint64_t volume) {
  for (size_t i = 0; i < kShards; i++) {
    Shard& s = shards_[i];
    MutexLock l(&s.mu);
    for (Page& p : s.pages) {
      if (p.used && p.id.volume == volume) {
        s.index.erase(p.id);
        p.used = false;
        p.known = p.present = 0;
      }
    }
  }
}

size_t BlockCache::entries() {
  size_t n = 0;
  for (size_t i = 0; i < kShards; i++) {
    MutexLock l(&shards_[i].mu);
    for (const Page& p : shards_[i].pages) n += std::popcount(p.known);
  }
  return n;
}

}  // namespace cstor::engine
