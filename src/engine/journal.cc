#include "engine/journal.h"

#include <fmt/format.h>
#include <pthread.h>

#include "base/check.h"
#include "base/log.h"

namespace cstor::engine {

Journal::Journal(Env* env, MetaStore* store, Allocator* alloc, BlockCache* cache,
                 std::vector<File*> devices, Options options)
    : env_(env), store_(store), alloc_(alloc), cache_(cache), devices_(std::move(devices)),
      options_(options) {
  MutexLock l(&mu_);
  active_ = std::make_unique<Epoch>();
  active_->id = next_epoch_id_++;
}

Journal::~Journal() {
  {
    MutexLock l(&mu_);
    stop_ = true;
    work_cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

void Journal::Start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "cstor-commit");
    Run();
  });
}

Status Journal::Close() {
  {
    MutexLock l(&mu_);
    stop_ = true;
    work_cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
  MutexLock l(&mu_);
  Status result = fenced_;
  if (fenced_.ok()) SetFencedLocked(Status::FailedPrecondition("pool is closed"));
  done_cv_.SignalAll();
  room_cv_.SignalAll();
  return result;
}

void Journal::AddVolume(uint64_t volume, const VolumeCounters& committed,
                        uint32_t units_per_block) {
  MutexLock c(&commit_mu_);
  MutexLock l(&mu_);
  auto state = std::make_unique<VolumeState>();
  state->units_per_block = units_per_block;
  state->committed = committed;
  // Not committed.max_io_seq: writes below it may have been lost in a crash (only the
  // checkpoint vouches for what is durable), so the checkpoint may only advance over
  // writes applied from now on.
  state->max_applied = committed.checkpoint_io_seq;
  volumes_[volume] = std::move(state);
}

void Journal::RemoveVolume(uint64_t volume) {
  MutexLock c(&commit_mu_);
  MutexLock l(&mu_);
  volumes_.erase(volume);
}

VolumeCounters Journal::Counters(uint64_t volume) {
  MutexLock c(&commit_mu_);
  MutexLock l(&mu_);
  auto it = volumes_.find(volume);
  if (it == volumes_.end()) return {};
  VolumeCounters out = it->second->committed;
  for (Epoch* e : {committing_.get(), active_.get()}) {
    if (e == nullptr) continue;
    auto v = e->volumes.find(volume);
    if (v == e->volumes.end()) continue;
    out.live_blocks += v->second.counters.live_blocks;
    out.held_blocks += v->second.counters.held_blocks;
    out.max_io_seq = std::max(out.max_io_seq, v->second.max_io_seq);
  }
  out.max_io_seq = std::max(out.max_io_seq, it->second->max_applied);
  return out;
}

void Journal::BeginIo(uint64_t volume, uint64_t io_seq) {
  if (io_seq == 0) return;
  MutexLock l(&mu_);
  auto it = volumes_.find(volume);
  if (it != volumes_.end()) it->second->inflight.insert(io_seq);
}

void Journal::EndIo(uint64_t volume, uint64_t io_seq, bool applied) {
  if (io_seq == 0) return;
  MutexLock l(&mu_);
  auto it = volumes_.find(volume);
  if (it == volumes_.end()) return;
  VolumeState& v = *it->second;
  auto pos = v.inflight.find(io_seq);
  CSTOR_CHECK(pos != v.inflight.end());
  v.inflight.erase(pos);
  if (!applied) {
    v.failed_cap = std::min(v.failed_cap, io_seq - 1);
    return;
  }
  v.max_applied = std::max(v.max_applied, io_seq);
  // Even an IO that changed no block (an unmap of unwritten space) moves the checkpoint,
  // so the volume must be part of the next commit.
  VolumeDelta& delta = active_->volumes[volume];
  delta.units = v.units_per_block;
  delta.max_io_seq = std::max(delta.max_io_seq, io_seq);
}

void Journal::HoldCheckpoint(uint64_t volume, std::optional<uint64_t> at) {
  MutexLock l(&mu_);
  auto it = volumes_.find(volume);
  if (it == volumes_.end()) return;
  it->second->hold = at;
  if (!at) it->second->failed_cap = UINT64_MAX;
  VolumeDelta& delta = active_->volumes[volume];  // let the next commit record the change
  delta.units = it->second->units_per_block;
}

Status Journal::WaitForRoom() {
  MutexLock l(&mu_);
  while (fenced_.ok() && Full(*active_)) {
    work_cv_.Signal();
    room_cv_.Wait();
  }
  return fenced_;
}

Extent Journal::ExtentOf(uint64_t volume, const BlockRecord& r) {
  auto it = volumes_.find(volume);
  CSTOR_CHECK(it != volumes_.end());
  return {r.phys.device, r.phys.unit, it->second->units_per_block};
}

Status Journal::Apply(uint64_t volume, std::span<const Change> changes,
                      uint64_t latest_snapshot_gen) {
  MutexLock l(&mu_);
  if (!fenced_.ok()) return fenced_;
  Epoch& e = *active_;
  if (e.blocks.empty()) e.started_micros = env_->NowMicros();
  VolumeDelta& delta = e.volumes[volume];
  delta.units = volumes_.at(volume)->units_per_block;
  auto hint = e.blocks.end();
  for (const Change& c : changes) {
    BlockKey key{volume, c.lba};
    // Changes usually come in block order: look next to the previous one first.
    auto pending = hint != e.blocks.end() && std::next(hint) != e.blocks.end() &&
                           std::next(hint)->first == key
                       ? std::next(hint)
                       : e.blocks.find(key);
    if (c.old) {
      const BlockRecord& old = *c.old;
      bool in_active = pending != e.blocks.end();
      CSTOR_CHECK(!in_active || pending->second == old);  // the stripe lock held it still
      if (old.birth <= latest_snapshot_gen) {
        // A snapshot holds this version. Everything a snapshot holds was committed when the
        // snapshot was taken, so it cannot be in the active epoch.
        CSTOR_CHECK(!in_active);
        e.preserved[{volume, c.lba, old.birth}] = OldRecord{old, c.rec.birth};
        if (old.has_data()) {
          delta.counters.live_blocks--;
          delta.counters.held_blocks++;
        }
      } else if (old.has_data()) {
        delta.counters.live_blocks--;
        if (in_active) {
          alloc_->Release(ExtentOf(volume, old));  // no durable metadata ever saw it
        } else {
          e.release_after_commit.push_back(ExtentOf(volume, old));
        }
      }
    }
    if (c.rec.has_data()) {
      delta.counters.live_blocks++;
      e.devices.insert(c.rec.phys.device);
      e.data_units += delta.units;
    }
    delta.max_io_seq = std::max(delta.max_io_seq, c.rec.io_seq);
    if (pending != e.blocks.end()) {
      pending->second = c.rec;
      hint = pending;
    } else {
      hint = e.blocks.emplace_hint(hint == e.blocks.end() ? hint : std::next(hint), key, c.rec);
    }
  }
  if (Full(e, 2)) work_cv_.Signal();
  return Status::Ok();
}

Status Journal::Flush() {
  MutexLock l(&mu_);
  uint64_t target = 0;
  if (!active_->empty()) {
    target = active_->id;
  } else if (committing_) {
    target = committing_->id;
  }
  if (target == 0) return fenced_;
  flush_requested_ = true;
  work_cv_.Signal();
  while (fenced_.ok() && committed_id_ < target) done_cv_.Wait();
  return fenced_;
}

bool Journal::Full(const Epoch& e, uint64_t divisor) const {
  return e.blocks.size() >= options_.max_epoch_blocks / divisor ||
         e.data_units * kUnitSize >= options_.max_epoch_bytes / divisor;
}

bool Journal::HasPendingFrees() {
  MutexLock l(&mu_);
  return !active_->release_after_commit.empty() ||
         (committing_ && !committing_->release_after_commit.empty());
}

bool Journal::ShouldCommit() {
  if (active_->empty()) return false;
  return flush_requested_ || stop_ || Full(*active_, 2) ||
         env_->NowMicros() - active_->started_micros >= options_.commit_interval_micros;
}

void Journal::SealCheckpoints(Epoch& e) {
  // The checkpoint may only cover io sequences that are applied (in this or an earlier
  // epoch) with no lower one still in flight.
  for (auto& [volume, delta] : e.volumes) {
    auto it = volumes_.find(volume);
    if (it == volumes_.end()) continue;
    const VolumeState& v = *it->second;
    uint64_t candidate = v.max_applied;
    if (!v.inflight.empty()) candidate = std::min(candidate, *v.inflight.begin() - 1);
    if (v.hold) candidate = std::min(candidate, *v.hold);
    candidate = std::min(candidate, v.failed_cap);
    delta.checkpoint = candidate;
  }
}

void Journal::Run() {
  while (true) {
    {
      MutexLock l(&mu_);
      while (!stop_ && (!fenced_.ok() || !ShouldCommit())) {
        uint64_t now = env_->NowMicros();
        uint64_t due = active_->started_micros + options_.commit_interval_micros;
        work_cv_.WaitFor(std::chrono::microseconds(
            active_->empty() || due <= now ? options_.commit_interval_micros : due - now));
      }
      if (!fenced_.ok() || active_->empty()) {
        if (stop_) return;
        continue;
      }
      committing_ = std::move(active_);
      active_ = std::make_unique<Epoch>();
      active_->id = next_epoch_id_++;
      flush_requested_ = false;
      SealCheckpoints(*committing_);
      room_cv_.SignalAll();
    }
    // committing_ is not modified until this thread resets it, so it may be read here
    // without mu_; other threads only read it under mu_.
    MutexLock c(&commit_mu_);
    Status s = CommitEpoch(*committing_);
    MutexLock l(&mu_);
    if (!s.ok()) {
      CSTOR_LOG_ERROR("commit failed, pool fenced: {}", s.ToString());
      SetFencedLocked(s.WithContext("pool fenced after a failed commit"));
      room_cv_.SignalAll();
    }
    committed_id_ = committing_->id;
    commits_++;
    committing_.reset();
    done_cv_.SignalAll();
  }
}

void Journal::AddCounters(MetaStore::Batch& b, uint64_t volume, const CounterDelta& d,
                          const VolumeDelta* io) {
  VolumeState* v;
  {
    MutexLock l(&mu_);
    auto it = volumes_.find(volume);
    if (it == volumes_.end()) return;  // deleted meanwhile; its keys are gone
    v = it->second.get();
  }
  VolumeCounters& c = v->committed;
  CSTOR_CHECK(static_cast<int64_t>(c.live_blocks) + d.live_blocks >= 0);
  CSTOR_CHECK(static_cast<int64_t>(c.held_blocks) + d.held_blocks >= 0);
  c.live_blocks += d.live_blocks;
  c.held_blocks += d.held_blocks;
  if (io != nullptr) {
    c.max_io_seq = std::max(c.max_io_seq, io->max_io_seq);
    c.checkpoint_io_seq = std::max(c.checkpoint_io_seq, io->checkpoint);
  }
  b.Put(keys::Counters(volume), EncodeCounters(c));
}

void Journal::AddDirtyChunks(MetaStore::Batch& b) {
  for (const BitmapChunkImage& chunk : alloc_->TakeDirtyChunks()) {
    b.Put(keys::BitmapChunk(chunk.device, chunk.chunk), chunk.bits);
  }
}

Status Journal::CommitEpoch(Epoch& e) {
  // 1. The data first: nothing below may point at data that is not durable.
  for (uint32_t dev : e.devices) {
    CSTOR_RETURN_IF_ERROR(devices_[dev]->Sync().WithContext(fmt::format("sync device {}", dev)));
  }
  // 2. All metadata of the epoch in one batch.
  MetaStore::Batch b;
  Extent run;  // consecutive new extents are marked in one call
  char k[kBlockKeySize], v[kBlockValueSize];
  for (const auto& [key, rec] : e.blocks) {
    EncodeBlockKey(key.volume, key.lba, k);
    if (rec.absent) {
      b.Delete({k, sizeof(k)});
      continue;
    }
    EncodeBlockValue(rec, v);
    b.Put({k, sizeof(k)}, {v, sizeof(v)});
    if (!rec.has_data()) continue;
    Extent ext{rec.phys.device, rec.phys.unit, e.volumes[key.volume].units};
    if (run.count > 0 && run.device == ext.device && run.unit + run.count == ext.unit) {
      run.count += ext.count;
      continue;
    }
    if (run.count > 0) alloc_->SetPersistent(run, true);
    run = ext;
  }
  if (run.count > 0) alloc_->SetPersistent(run, true);
  for (const auto& [key, old] : e.preserved) {
    b.Put(keys::Old(key.volume, key.lba, key.birth), EncodeOld(old));
    b.Put(keys::Kill(key.volume, old.kill, key.lba),
          EncodeKill({key.birth, old.rec.phys, old.rec.has_data()}));
  }
  for (const Extent& ext : e.release_after_commit) alloc_->SetPersistent(ext, false);
  for (const auto& [volume, delta] : e.volumes) AddCounters(b, volume, delta.counters, &delta);
  AddDirtyChunks(b);
  CSTOR_RETURN_IF_ERROR(store_->Write(b, /*sync=*/true));
  // 3. Now durable: publish to the cache before the journal forgets the epoch, and let
  // the replaced space be reused.
  cache_->UpsertAll(e.blocks);
  for (const Extent& ext : e.release_after_commit) alloc_->Release(ext);
  return Status::Ok();
}

Status Journal::CommitAdmin(MetaStore::Batch batch, const std::vector<Extent>& frees,
                            const std::map<uint64_t, CounterDelta>& deltas) {
  MutexLock c(&commit_mu_);
  {
    MutexLock l(&mu_);
    if (!fenced_.ok()) return fenced_;
  }
  for (const Extent& ext : frees) alloc_->SetPersistent(ext, false);
  for (const auto& [volume, delta] : deltas) AddCounters(batch, volume, delta, nullptr);
  AddDirtyChunks(batch);
  Status s = store_->Write(batch, /*sync=*/true);
  if (!s.ok()) {
    Fence(s);
    return s;
  }
  for (const Extent& ext : frees) alloc_->Release(ext);
  return Status::Ok();
}

void Journal::Fence(const Status& s) {
  MutexLock l(&mu_);
  if (fenced_.ok()) {
    CSTOR_LOG_ERROR("metadata write failed, pool fenced: {}", s.ToString());
    SetFencedLocked(s.WithContext("pool fenced after a failed commit"));
  }
  done_cv_.SignalAll();
  room_cv_.SignalAll();
}

bool Journal::Lookup(const BlockKey& key, BlockRecord* rec) {
  MutexLock l(&mu_);
  for (Epoch* e : {active_.get(), committing_.get()}) {
    if (e == nullptr) continue;
    auto it = e->blocks.find(key);
    if (it != e->blocks.end()) {
      *rec = it->second;  // may be `absent`: the caller treats that as no entry
      return true;
    }
  }
  return false;
}

void Journal::LookupRange(uint64_t volume, uint64_t lba,
                          std::span<std::optional<BlockRecord>> out, std::vector<bool>* found) {
  found->assign(out.size(), false);
  MutexLock l(&mu_);
  for (Epoch* e : {committing_.get(), active_.get()}) {  // active last: it is newer
    if (e == nullptr) continue;
    const BlockKey end{volume, lba + out.size()};
    for (auto it = e->blocks.lower_bound({volume, lba}); it != e->blocks.end() && it->first < end;
         ++it) {
      if (it->second.absent) {
        out[it->first.lba - lba].reset();
      } else {
        out[it->first.lba - lba] = it->second;
      }
      (*found)[it->first.lba - lba] = true;
    }
  }
}

std::optional<std::pair<uint64_t, OldRecord>> Journal::LookupOld(uint64_t volume, uint64_t lba,
                                                                 uint64_t max_birth) {
  MutexLock l(&mu_);
  std::optional<std::pair<uint64_t, OldRecord>> best;
  for (Epoch* e : {active_.get(), committing_.get()}) {
    if (e == nullptr) continue;
    auto it = e->preserved.upper_bound({volume, lba, max_birth});
    if (it == e->preserved.begin()) continue;
    --it;
    if (it->first.volume != volume || it->first.lba != lba) continue;
    if (!best || it->first.birth > best->first) best.emplace(it->first.birth, it->second);
  }
  return best;
}

void Journal::CollectBlocks(uint64_t volume, uint64_t lo, uint64_t hi,
                            std::map<uint64_t, BlockRecord>* out) {
  MutexLock l(&mu_);
  for (Epoch* e : {committing_.get(), active_.get()}) {  // active last: it is newer
    if (e == nullptr) continue;
    for (auto it = e->blocks.lower_bound({volume, lo});
         it != e->blocks.end() && it->first < BlockKey{volume, hi}; ++it) {
      (*out)[it->first.lba] = it->second;
    }
  }
}

void Journal::CollectOld(uint64_t volume, uint64_t lo, uint64_t hi,
                         std::map<std::pair<uint64_t, uint64_t>, OldRecord>* out) {
  MutexLock l(&mu_);
  for (Epoch* e : {committing_.get(), active_.get()}) {
    if (e == nullptr) continue;
    for (auto it = e->preserved.lower_bound({volume, lo, 0});
         it != e->preserved.end() && it->first < OldKey{volume, hi, 0}; ++it) {
      (*out)[{it->first.lba, it->first.birth}] = it->second;
    }
  }
}

void Journal::SetFencedLocked(Status s) {
  fenced_ = std::move(s);
  any_fence_ = true;
}

Status Journal::fenced() {
  if (!any_fence_) return Status::Ok();
  MutexLock l(&mu_);
  return fenced_;
}

uint64_t Journal::commits() {
  MutexLock l(&mu_);
  return commits_;
}

}  // namespace cstor::engine
