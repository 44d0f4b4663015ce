#include "engine/block_map.h"

#include <fmt/format.h>

#include "base/coding.h"

namespace cstor::engine {

Result<std::optional<BlockRecord>> BlockMap::Get(const BlockKey& key, bool fill_cache) {
  BlockRecord rec;
  if (journal_->Lookup(key, &rec)) {
    return rec.absent ? std::optional<BlockRecord>() : std::optional<BlockRecord>(rec);
  }
  BlockCache::Value cached;
  if (cache_->Lookup(key, &cached)) return cached;
  CSTOR_ASSIGN_OR_RETURN(auto value, store_->Get(keys::Block(key.volume, key.lba)));
  BlockCache::Value found;
  if (value) {
    CSTOR_ASSIGN_OR_RETURN(BlockRecord r, DecodeBlock(*value));
    found = r;
  }
  if (fill_cache) cache_->InsertIfAbsent(key, found);
  return found;
}

Status BlockMap::GetRange(uint64_t volume, uint64_t lba, size_t n,
                          std::vector<std::optional<BlockRecord>>* out) {
  out->assign(n, std::nullopt);
  std::vector<bool> in_journal, in_cache;
  journal_->LookupRange(volume, lba, *out, &in_journal);
  std::vector<BlockCache::Value> cached(n);
  cache_->LookupRange(volume, lba, cached, &in_cache);
  std::vector<size_t> missing;
  for (size_t i = 0; i < n; i++) {
    if (in_journal[i]) continue;
    if (in_cache[i]) {
      (*out)[i] = cached[i];
    } else {
      missing.push_back(i);
    }
  }
  if (missing.empty()) return Status::Ok();
  std::vector<std::string> store_keys;
  store_keys.reserve(missing.size());
  for (size_t i : missing) store_keys.push_back(keys::Block(volume, lba + i));
  std::vector<std::optional<std::string>> values;
  CSTOR_RETURN_IF_ERROR(store_->MultiGet(store_keys, &values));
  for (size_t k = 0; k < missing.size(); k++) {
    BlockCache::Value found;
    if (values[k]) {
      CSTOR_ASSIGN_OR_RETURN(BlockRecord r, DecodeBlock(*values[k]));
      found = r;
    }
    (*out)[missing[k]] = found;
    cache_->InsertIfAbsent({volume, lba + missing[k]}, found);
  }
  return Status::Ok();
}

Result<std::optional<OldRecord>> BlockMap::GetOld(uint64_t volume, uint64_t lba,
                                                  uint64_t max_birth) {
  std::optional<OldRecord> best;
  uint64_t best_birth = 0;
  if (auto pending = journal_->LookupOld(volume, lba, max_birth)) {
    best_birth = pending->first;
    best = pending->second;
  }
  std::string prefix = keys::Old(volume, lba, 0).substr(0, 17);
  auto it = store_->NewIterator(prefix, keys::PrefixEnd(prefix));
  it->SeekForPrev(keys::Old(volume, lba, max_birth));
  if (it->Valid()) {
    uint64_t v, l, birth;
    if (keys::ParseOld(it->key(), &v, &l, &birth) && (!best || birth > best_birth)) {
      CSTOR_ASSIGN_OR_RETURN(OldRecord r, DecodeOld(it->value()));
      best = r;
    }
  }
  CSTOR_RETURN_IF_ERROR(it->status());
  return best;
}

Status BlockMap::ScanLive(uint64_t volume, uint64_t lo, uint64_t hi, const LiveFn& fn) {
  // Pending entries first, then the store's view: anything committed in between is in
  // both, never in neither.
  std::map<uint64_t, BlockRecord> pending;
  journal_->CollectBlocks(volume, lo, hi, &pending);
  auto it = store_->NewIterator(keys::Block(volume, lo), keys::Block(volume, hi));
  it->Seek(keys::Block(volume, lo));
  auto p = pending.begin();
  while (true) {
    uint64_t store_lba = UINT64_MAX, v = 0;
    if (it->Valid() && !keys::ParseBlock(it->key(), &v, &store_lba)) {
      return Status::Corruption("malformed block key in the metadata store");
    }
    uint64_t pending_lba = p != pending.end() ? p->first : UINT64_MAX;
    if (store_lba == UINT64_MAX && pending_lba == UINT64_MAX) break;
    if (pending_lba <= store_lba) {
      if (!p->second.absent && !fn(pending_lba, p->second)) return Status::Ok();
      if (store_lba == pending_lba) it->Next();
      ++p;
    } else {
      CSTOR_ASSIGN_OR_RETURN(BlockRecord r, DecodeBlock(it->value()));
      if (!fn(store_lba, r)) return Status::Ok();
      it->Next();
    }
  }
  return it->status();
}

Status BlockMap::ScanOld(uint64_t volume, uint64_t lo, uint64_t hi, const OldFn& fn) {
  std::map<std::pair<uint64_t, uint64_t>, OldRecord> pending;
  journal_->CollectOld(volume, lo, hi, &pending);
  auto it = store_->NewIterator(keys::Old(volume, lo, 0), keys::Old(volume, hi, 0));
  it->Seek(keys::Old(volume, lo, 0));
  auto p = pending.begin();
  constexpr std::pair<uint64_t, uint64_t> kEnd{UINT64_MAX, UINT64_MAX};
  while (true) {
    std::pair<uint64_t, uint64_t> store_key = kEnd;
    uint64_t v = 0;
    if (it->Valid() && !keys::ParseOld(it->key(), &v, &store_key.first, &store_key.second)) {
      return Status::Corruption("malformed old-block key in the metadata store");
    }
    auto pending_key = p != pending.end() ? p->first : kEnd;
    if (store_key == kEnd && pending_key == kEnd) break;
    if (pending_key <= store_key) {
      if (!fn(pending_key.first, pending_key.second, p->second)) return Status::Ok();
      if (store_key == pending_key) it->Next();
      ++p;
    } else {
      CSTOR_ASSIGN_OR_RETURN(OldRecord r, DecodeOld(it->value()));
      if (!fn(store_key.first, store_key.second, r)) return Status::Ok();
      it->Next();
    }
  }
  return it->status();
}

}  // namespace cstor::engine
