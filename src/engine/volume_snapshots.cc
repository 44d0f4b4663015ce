// Volume: snapshots. A snapshot is a generation number: it sees every version of a block
// born at or before it and replaced after it. Versions a snapshot holds live in the
// old-version map (O keys) with a kill index (K keys) that makes deletion cost
// proportional to what the snapshot alone holds (the ZFS dead-list idea).
#include <fmt/format.h>

#include <algorithm>

#include "base/check.h"
#include "engine/pool_core.h"
#include "engine/volume.h"

namespace cstor::engine {

Result<SnapshotRecord> Volume::FindSnapshot(const std::string& name) {
  MutexLock l(&snap_mu_);
  for (const SnapshotRecord& s : snapshots_) {
    if (s.name == name) return s;
  }
  return Status::NotFound(fmt::format("snapshot {}@{} does not exist", this->name(), name));
}

bool Volume::HasSnapshotGen(uint64_t gen) {
  MutexLock l(&snap_mu_);
  return std::any_of(snapshots_.begin(), snapshots_.end(),
                     [&](const SnapshotRecord& s) { return s.gen == gen; });
}

std::pair<uint64_t, uint64_t> Volume::NeighbourGens(uint64_t gen) {
  MutexLock l(&snap_mu_);
  uint64_t prev = 0, next = UINT64_MAX;
  for (const SnapshotRecord& s : snapshots_) {
    if (s.gen < gen) prev = std::max(prev, s.gen);
    if (s.gen > gen) next = std::min(next, s.gen);
  }
  return {prev, next};
}

namespace {

// Kill-index keys of versions replaced in (gen, next]: the ones gen may hold alone.
std::pair<std::string, std::string> KillRange(uint64_t volume, uint64_t gen, uint64_t next) {
  std::string hi = next == UINT64_MAX ? keys::PrefixEnd(keys::KillPrefix(volume))
                                      : keys::Kill(volume, next + 1, 0);
  return {keys::Kill(volume, gen + 1, 0), hi};
}

}  // namespace

uint64_t Volume::SnapshotUsedBlocks(const SnapshotRecord& snap) {
  // Plain variables, not a structured binding: lambdas below capture prev.
  const auto neighbours = NeighbourGens(snap.gen);
  const uint64_t prev = neighbours.first;
  auto [lo, hi] = KillRange(id(), snap.gen, neighbours.second);
  uint64_t blocks = 0;
  Status s = core_->store->Scan(lo, hi, [&](std::string_view, std::string_view v) {
    auto k = DecodeKill(v);
    if (k.ok() && k->birth > prev && k->has_data) blocks++;
    return k.ok();
  });
  (void)s;  // an estimate for display; a failed scan shows what it counted
  return blocks;
}

SnapshotInfo Volume::ToInfo(const SnapshotRecord& snap) {
  SnapshotInfo info;
  info.name = snap.name;
  info.gen = snap.gen;
  info.created_micros = snap.created_micros;
  info.size = snap.size;
  info.io_seq = snap.io_seq;
  info.referenced_bytes = snap.referenced_blocks * block_size();
  info.used_bytes = SnapshotUsedBlocks(snap) * block_size();
  info.clones = core_->ClonesOf(id(), snap.gen);
  return info;
}

Result<SnapshotInfo> Volume::CreateSnapshot(const std::string& name,
                                           std::optional<uint64_t> io_seq) {
  CSTOR_RETURN_IF_ERROR(ValidateObjectName(name, "snapshot"));
  MutexLock admin(&core_->admin_mu);
  WriterLock io(&io_lock_);  // waits for in-flight IO; new IO waits for us
  CSTOR_RETURN_IF_ERROR(CheckUsable());
  if (FindSnapshot(name).ok()) {
    return Status::AlreadyExists(fmt::format("snapshot {}@{} already exists", this->name(), name));
  }
  // Everything written before the snapshot is committed; after this, writes to the volume
  // are born in a later generation.
  CSTOR_RETURN_IF_ERROR(core_->journal->Flush());
  VolumeCounters counters = core_->journal->Counters(id());
  SnapshotRecord rec;
  rec.volume = id();
  rec.gen = core_->txg.load();
  rec.name = name;
  rec.created_micros = core_->env->WallMicros();
  rec.size = size();
  rec.referenced_blocks = counters.live_blocks;
  rec.io_seq = io_seq.value_or(counters.max_io_seq);
  PoolRecord next = core_->record;
  next.txg = rec.gen + 1;
  MetaStore::Batch batch;
  batch.Put(keys::Snapshot(id(), rec.gen), EncodeSnapshot(rec));
  batch.Put(keys::Pool(), EncodePool(next));
  CSTOR_RETURN_IF_ERROR(core_->journal->CommitAdmin(std::move(batch), {}, {}));
  core_->record = next;
  core_->txg = next.txg;
  {
    MutexLock l(&snap_mu_);
    snapshots_.push_back(rec);
  }
  latest_snapshot_gen_ = rec.gen;
  return ToInfo(rec);
}

Status Volume::DeleteSnapshot(const std::string& name) {
  MutexLock admin(&core_->admin_mu);
  WriterLock io(&io_lock_);
  CSTOR_RETURN_IF_ERROR(CheckUsable());
  CSTOR_ASSIGN_OR_RETURN(SnapshotRecord snap, FindSnapshot(name));
  auto clones = core_->ClonesOf(id(), snap.gen);
  if (!clones.empty()) {
    return Status::FailedPrecondition(fmt::format("snapshot {}@{} has clones ({}); delete them first",
                                                  this->name(), name, fmt::join(clones, ", ")));
  }
  CSTOR_RETURN_IF_ERROR(core_->journal->Flush());
  // Hide it durably first: if we crash while freeing, the pool finishes on open.
  snap.state = LifeState::kDeleting;
  MetaStore::Batch batch;
  batch.Put(keys::Snapshot(id(), snap.gen), EncodeSnapshot(snap));
  CSTOR_RETURN_IF_ERROR(core_->journal->CommitAdmin(std::move(batch), {}, {}));
  {
    MutexLock l(&snap_mu_);
    std::erase_if(snapshots_, [&](const SnapshotRecord& s) { return s.gen == snap.gen; });
    latest_snapshot_gen_ = snapshots_.empty() ? 0 : snapshots_.back().gen;
  }
  return ReclaimSnapshot(snap);
}

Status Volume::ReclaimSnapshot(const SnapshotRecord& snap) {
  // A version replaced in (gen, next] and born after prev is held by this snapshot alone.
  // Plain variables, not a structured binding: lambdas below capture prev.
  const auto neighbours = NeighbourGens(snap.gen);
  const uint64_t prev = neighbours.first;
  auto [lo, hi] = KillRange(id(), snap.gen, neighbours.second);
  const uint32_t upb = units_per_block();
  std::string cursor = lo;
  while (true) {
    MetaStore::Batch batch;
    std::vector<Extent> frees;
    CounterDelta delta;
    size_t examined = 0;
    Status decode;
    CSTOR_RETURN_IF_ERROR(core_->store->Scan(cursor, hi, [&](std::string_view k,
                                                             std::string_view v) {
      examined++;
      cursor = std::string(k) + '\0';
      uint64_t vol, kill, lba;
      auto rec = DecodeKill(v);
      if (!rec.ok() || !keys::ParseKill(k, &vol, &kill, &lba)) {
        decode = rec.ok() ? Status::Corruption("malformed kill key") : rec.status();
        return false;
      }
      if (rec->birth > prev) {
        batch.Delete(k);
        batch.Delete(keys::Old(id(), lba, rec->birth));
        if (rec->has_data) {
          frees.push_back({rec->phys.device, rec->phys.unit, upb});
          delta.held_blocks--;
        }
      }
      return examined < kReclaimBatchKeys;
    }));
    CSTOR_RETURN_IF_ERROR(decode);
    if (batch.count() > 0) {
      CSTOR_RETURN_IF_ERROR(
          core_->journal->CommitAdmin(std::move(batch), frees, {{id(), delta}}));
    }
    if (examined < kReclaimBatchKeys) break;
  }
  MetaStore::Batch last;
  last.Delete(keys::Snapshot(id(), snap.gen));
  return core_->journal->CommitAdmin(std::move(last), {}, {});
}

std::vector<SnapshotInfo> Volume::ListSnapshots(bool space) {
  std::vector<SnapshotRecord> snaps;
  if (!space) {
    MutexLock l(&snap_mu_);
    std::vector<SnapshotInfo> out;
    for (const auto& s : snapshots_) {
      SnapshotInfo info;
      info.name = s.name;
      info.gen = s.gen;
      info.created_micros = s.created_micros;
      info.size = s.size;
      info.io_seq = s.io_seq;
      out.push_back(std::move(info));
    }
    return out;
  }
  // Space accounting reads committed state: commit what is pending first.
  (void)core_->journal->Flush();
  ReaderLock io(&io_lock_);
  {
    MutexLock l(&snap_mu_);
    snaps = snapshots_;
  }
  std::vector<SnapshotInfo> out;
  for (const auto& s : snaps) out.push_back(ToInfo(s));
  return out;
}

Status Volume::ReadSnapshot(const std::string& snapshot, uint64_t offset,
                            std::span<std::byte> out) {
  ReaderLock io(&io_lock_);
  CSTOR_RETURN_IF_ERROR(CheckUsable());
  CSTOR_ASSIGN_OR_RETURN(SnapshotRecord snap, FindSnapshot(snapshot));
  CSTOR_RETURN_IF_ERROR(CheckRange(offset, out.size(), snap.size));
  return ReadRange(offset, out, snap.gen);
}

// ---- change streams ----

ChangeIterator::ChangeIterator(std::shared_ptr<Volume> volume, uint64_t since, uint64_t gen,
                               uint64_t total, uint64_t start_block, bool with_data,
                               uint64_t below)
    : volume_(std::move(volume)), since_(since), gen_(gen), total_(total), with_data_(with_data),
      below_(below), cursor_(start_block) {}

Result<std::unique_ptr<ChangeIterator>> Volume::ChangedSince(uint64_t since,
                                                             const std::string& snapshot,
                                                             ChangeStreamOptions options) {
  ReaderLock io(&io_lock_);
  CSTOR_RETURN_IF_ERROR(CheckUsable());
  uint64_t gen = kLiveGen, total = blocks();
  if (!snapshot.empty()) {
    CSTOR_ASSIGN_OR_RETURN(SnapshotRecord snap, FindSnapshot(snapshot));
    gen = snap.gen;
    total = snap.size / block_size();
  }
  return std::make_unique<ChangeIterator>(shared_from_this(), since, gen, total,
                                          std::min(options.start_block, total),
                                          options.with_data, options.below);
}

Result<std::vector<BlockChange>> ChangeIterator::Next(size_t max_blocks) {
  if (max_blocks == 0) return Status::InvalidArgument("a change batch needs room for a block");
  Volume& v = *volume_;
  ReaderLock io(&v.io_lock_);
  CSTOR_RETURN_IF_ERROR(v.CheckUsable());
  if (gen_ != kLiveGen && !v.HasSnapshotGen(gen_)) {
    return Status::NotFound(fmt::format("a snapshot of {} was deleted during the stream",
                                        v.name()));
  }
  const uint64_t bs = v.block_size();
  std::vector<BlockChange> out;
  while (out.empty() && cursor_ < total_) {
    // Candidates: blocks with a version of this volume's own (live or held).
    std::vector<uint64_t> lbas;
    CSTOR_RETURN_IF_ERROR(v.CollectOwnLbas(cursor_, total_, std::max<size_t>(max_blocks, 64),
                                           /*with_old=*/gen_ != kLiveGen, &lbas));
    uint64_t scanned_to = lbas.empty() ? total_ : lbas.back() + 1;
    std::optional<StripeLocks::Guard> guard;
    if (gen_ == kLiveGen) guard.emplace(v.stripes_.Lock(lbas, /*exclusive=*/false));
    for (uint64_t lba : lbas) {
      CSTOR_ASSIGN_OR_RETURN(auto rec, v.ResolveAt(lba, gen_, /*follow_origin=*/false,
                                                   /*locked=*/gen_ == kLiveGen));
      if (!rec || rec->io_seq <= since_ || rec->io_seq >= below_) continue;
      BlockChange c;
      c.lba = lba;
      c.io_seq = rec->io_seq;
      c.unmapped = rec->unmapped;
      if (rec->has_data() && with_data_) {
        c.data = AlignedBuffer(bs);
        c.status = v.core_->ReadAt(rec->phys, c.data.span());
        if (c.status.ok()) c.status = v.Verify(lba, *rec, c.data.span());
        if (!c.status.ok()) c.data = AlignedBuffer();
      }
      out.push_back(std::move(c));
      if (out.size() == max_blocks) {
        scanned_to = lba + 1;
        break;
      }
    }
    cursor_ = scanned_to;
  }
  CSTOR_RETURN_IF_ERROR(v.core_->journal->fenced());  // as in Volume::ReadRange
  return out;
}

}  // namespace cstor::engine
