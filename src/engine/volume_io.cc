// Volume: reads, writes, unmaps and their validation.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "base/check.h"
#include "base/crc32c.h"
#include "base/units.h"
#include "engine/pool_core.h"
#include "engine/volume.h"

namespace cstor::engine {
namespace {

constexpr uint64_t kSector = 512;
constexpr uint64_t kChunkBytes = 1 << 20;  // large IOs are split so locks and buffers stay bounded

// The bytes [offset, offset + length) split at chunk boundaries aligned to block_size.
template <typename Fn>
Status ForEachChunk(uint64_t offset, uint64_t length, uint64_t block_size, Fn&& fn) {
  const uint64_t chunk = std::max(kChunkBytes, block_size);
  while (length > 0) {
    uint64_t next = (offset / chunk + 1) * chunk;
    uint64_t n = std::min(length, next - offset);
    CSTOR_RETURN_IF_ERROR(fn(offset, n));
    offset += n;
    length -= n;
  }
  return Status::Ok();
}

}  // namespace

Volume::Volume(PoolCore* core, VolumeRecord record, std::shared_ptr<Volume> origin)
    : core_(core), record_(std::move(record)), origin_(std::move(origin)), size_(record_.size) {}

Volume::~Volume() = default;

Status Volume::CheckRange(uint64_t offset, uint64_t length, uint64_t size) const {
  if (offset % kSector != 0 || length % kSector != 0) {
    return Status::InvalidArgument(fmt::format(
        "offset {} and length {} must be multiples of 512 bytes", offset, length));
  }
  if (size == 0) size = this->size();
  if (offset > size || length > size - offset) {
    return Status::OutOfRange(fmt::format(
        "bytes [{}, {}) are beyond the end of volume {} ({} bytes)", offset, offset + length,
        name(), size));
  }
  return Status::Ok();
}

Status Volume::CheckWritableOrReclaim() {
  Status s = core_->CheckWritable();
  if ((s.Is(Code::kReadOnly) || s.Is(Code::kNoSpace)) && core_->journal->HasPendingFrees()) {
    CSTOR_RETURN_IF_ERROR(core_->journal->Flush());
    s = core_->CheckWritable();
  }
  return s;
}

Status Volume::CheckUsable() const {
  if (core_->closed) return Status::FailedPrecondition("pool is closed");
  if (deleted_) return Status::NotFound("volume " + name() + " was deleted");
  // A failed commit dropped its epoch's records; the block map now holds older versions,
  // so reads and change streams must fail too, not serve them (the pool must be reopened).
  return core_->journal->fenced();
}

Result<std::optional<BlockRecord>> Volume::ResolveAt(uint64_t lba, uint64_t gen,
                                                     bool follow_origin, bool locked) {
  BlockMap& map = *core_->map;
  CSTOR_ASSIGN_OR_RETURN(auto live, map.Get({id(), lba}, locked));
  if (live && (gen == kLiveGen || live->birth <= gen)) return live;
  if (live) {
    // The live version is newer than gen; a snapshot holds the one that was live then,
    // unless the block had not been written in this volume yet.
    CSTOR_ASSIGN_OR_RETURN(auto old, map.GetOld(id(), lba, gen));
    if (old) {
      CSTOR_CHECK(old->kill > gen);
      return std::optional<BlockRecord>(old->rec);
    }
  }
  if (follow_origin && origin_) {
    return origin_->ResolveAt(lba, record_.origin_gen, true, /*locked=*/false);
  }
  return std::optional<BlockRecord>();
}

Status Volume::Verify(uint64_t lba, const BlockRecord& rec, std::span<const std::byte> data) {
  uint32_t crc = crc32c::Value(data);
  if (crc == rec.crc) return Status::Ok();
  core_->checksum_errors++;
  return Status::Corruption(fmt::format(
      "checksum mismatch in volume {} block {} (device {} unit {}): stored {:08x}, read {:08x}",
      name(), lba, rec.phys.device, rec.phys.unit, rec.crc, crc));
}

Status Volume::ReadResolved(std::span<const std::optional<BlockRecord>> recs, uint64_t first,
                            std::span<std::byte> out) {
  const uint64_t bs = block_size(), upb = units_per_block();
  size_t i = 0;
  while (i < recs.size()) {
    const auto& r = recs[i];
    if (!r || r->unmapped) {
      std::memset(out.data() + i * bs, 0, bs);
      i++;
      continue;
    }
    // Coalesce blocks that sit next to each other on the same device into one read.
    size_t j = i + 1;
    while (j < recs.size() && recs[j] && recs[j]->has_data() &&
           recs[j]->phys.device == r->phys.device &&
           recs[j]->phys.unit == r->phys.unit + (j - i) * upb) {
      j++;
    }
    auto span = out.subspan(i * bs, (j - i) * bs);
    CSTOR_RETURN_IF_ERROR(core_->ReadAt(r->phys, span));
    for (size_t k = i; k < j; k++) {
      CSTOR_RETURN_IF_ERROR(Verify(first + k, *recs[k], out.subspan(k * bs, bs)));
    }
    i = j;
  }
  return Status::Ok();
}

Status Volume::ReadBlocksLocked(uint64_t first, uint64_t n, uint64_t gen,
                                std::span<std::byte> out) {
  std::vector<std::optional<BlockRecord>> recs;
  if (gen == kLiveGen) {
    CSTOR_RETURN_IF_ERROR(core_->map->GetRange(id(), first, n, &recs));
    if (origin_) {
      for (uint64_t i = 0; i < n; i++) {
        if (recs[i]) continue;
        CSTOR_ASSIGN_OR_RETURN(recs[i], origin_->ResolveAt(first + i, record_.origin_gen, true,
                                                           /*locked=*/false));
      }
    }
  } else {
    recs.resize(n);
    for (uint64_t i = 0; i < n; i++) {
      CSTOR_ASSIGN_OR_RETURN(recs[i], ResolveAt(first + i, gen, true, /*locked=*/false));
    }
  }
  return ReadResolved(recs, first, out);
}

Status Volume::ReadRange(uint64_t offset, std::span<std::byte> out, uint64_t gen) {
  CSTOR_RETURN_IF_ERROR(ReadRangeUnfenced(offset, out, gen));
  // A commit that failed while this read ran may have dropped the records it would have
  // found; the fence is set before they are dropped, so checking it after reading catches
  // an answer from the older ones.
  return core_->journal->fenced();
}

Status Volume::ReadRangeUnfenced(uint64_t offset, std::span<std::byte> out, uint64_t gen) {
  const uint64_t bs = block_size();
  return ForEachChunk(offset, out.size(), bs, [&](uint64_t off, uint64_t len) -> Status {
    std::span<std::byte> dst = out.subspan(off - offset, len);
    uint64_t first = off / bs, within = off % bs;
    uint64_t n = (within + len + bs - 1) / bs;
    std::optional<StripeLocks::Guard> guard;
    if (gen == kLiveGen) guard.emplace(stripes_.Lock(first, n, /*exclusive=*/false));
    if (within == 0 && len % bs == 0 && IsAligned(dst.data())) {
      return ReadBlocksLocked(first, n, gen, dst);
    }
    AlignedBuffer tmp(n * bs);
    CSTOR_RETURN_IF_ERROR(ReadBlocksLocked(first, n, gen, tmp.span()));
    std::memcpy(dst.data(), tmp.data() + within, len);
    return Status::Ok();
  });
}

Status Volume::Read(uint64_t offset, std::span<std::byte> out) {
  CSTOR_RETURN_IF_ERROR(CheckRange(offset, out.size()));
  ReaderLock io(&io_lock_);
  CSTOR_RETURN_IF_ERROR(CheckUsable());
  return ReadRange(offset, out, kLiveGen);
}

Status Volume::WriteRun(uint64_t first, std::span<const std::byte> data, uint64_t io_seq,
                        const std::vector<std::optional<BlockRecord>>& old, size_t old_base,
                        std::vector<Journal::Change>* changes, std::vector<Extent>* allocated) {
  const uint64_t bs = block_size();
  const uint32_t upb = units_per_block();
  const uint64_t n = data.size() / bs;
  auto got = core_->alloc->Allocate(n, upb);
  if (!got.ok() && core_->journal->HasPendingFrees()) {
    // Space replaced by earlier writes comes back when they commit: commit and retry.
    CSTOR_RETURN_IF_ERROR(core_->journal->Flush());
    got = core_->alloc->Allocate(n, upb);
  }
  CSTOR_ASSIGN_OR_RETURN(std::vector<Extent> extents, std::move(got));
  allocated->insert(allocated->end(), extents.begin(), extents.end());
  const uint64_t birth = core_->txg.load();
  uint64_t block = 0;
  for (const Extent& e : extents) {
    uint64_t count = e.count / upb;
    CSTOR_RETURN_IF_ERROR(
        core_->devices[e.device]->Write(e.unit, data.subspan(block * bs, count * bs)));
    for (uint64_t k = 0; k < count; k++, block++) {
      Journal::Change c;
      c.lba = first + block;
      c.rec.phys = {e.device, e.unit + k * upb};
      c.rec.io_seq = io_seq;
      c.rec.birth = birth;
      c.rec.crc = crc32c::Value(data.subspan(block * bs, bs));
      c.old = old[old_base + block];
      changes->push_back(c);
    }
  }
  return Status::Ok();
}

Result<uint64_t> Volume::WriteBlocksLocked(uint64_t first, uint64_t n,
                                           std::span<const std::byte> data, uint64_t io_seq,
                                           uint64_t keep_at) {
  const uint64_t bs = block_size();
  CSTOR_CHECK(data.size() == n * bs);
  std::vector<std::optional<BlockRecord>> old;
  CSTOR_RETURN_IF_ERROR(core_->map->GetRange(id(), first, n, &old));
  AlignedBuffer copy;
  if (!IsAligned(data.data())) {  // direct IO needs aligned memory
    copy = AlignedBuffer(data.size());
    std::memcpy(copy.data(), data.data(), data.size());
    data = copy.span();
  }
  std::vector<Journal::Change> changes;
  std::vector<Extent> allocated;
  Status s;
  // Blocks to replace come in runs between blocks that keep their newer version.
  for (uint64_t i = 0; i < n && s.ok();) {
    auto keeps = [&](uint64_t k) { return old[k] && old[k]->io_seq >= keep_at; };
    if (keeps(i)) {
      i++;
      continue;
    }
    uint64_t j = i + 1;
    while (j < n && !keeps(j)) j++;
    s = WriteRun(first + i, data.subspan(i * bs, (j - i) * bs), io_seq, old, i, &changes,
                 &allocated);
    i = j;
  }
  if (s.ok() && !changes.empty()) {
    s = core_->journal->Apply(id(), changes, latest_snapshot_gen_.load());
  }
  if (!s.ok()) {
    for (const Extent& e : allocated) core_->alloc->Release(e);  // nothing refers to them
    return s;
  }
  return changes.size();
}

Status Volume::WriteChunk(uint64_t offset, std::span<const std::byte> data, uint64_t io_seq,
                          uint64_t keep_at) {
  const uint64_t bs = block_size();
  const uint64_t first = offset / bs, within = offset % bs;
  const uint64_t n = (within + data.size() + bs - 1) / bs;
  auto guard = stripes_.Lock(first, n, /*exclusive=*/true);
  bool head_partial = within != 0;
  bool tail_partial = (offset + data.size()) % bs != 0;
  if (!head_partial && !tail_partial) {
    return WriteBlocksLocked(first, n, data, io_seq, keep_at).status();
  }
  // Read-modify-write of the partial blocks at either end.
  AlignedBuffer buf(n * bs);
  if (head_partial || (n == 1 && tail_partial)) {
    CSTOR_RETURN_IF_ERROR(ReadBlocksLocked(first, 1, kLiveGen, buf.span().subspan(0, bs)));
  }
  if (tail_partial && n > 1) {
    CSTOR_RETURN_IF_ERROR(
        ReadBlocksLocked(first + n - 1, 1, kLiveGen, buf.span().subspan((n - 1) * bs, bs)));
  }
  std::memcpy(buf.data() + within, data.data(), data.size());
  return WriteBlocksLocked(first, n, buf.span(), io_seq, keep_at).status();
}

void Volume::AnnounceIo(uint64_t io_seq) { core_->journal->BeginIo(id(), io_seq); }

Status Volume::Write(uint64_t offset, std::span<const std::byte> data, uint64_t io_seq,
                     bool newer_only, bool announced) {
  // Counted from here on, so that no later io_seq can be checkpointed past this one.
  if (!announced) core_->journal->BeginIo(id(), io_seq);
  if (Status s = CheckRange(offset, data.size()); !s.ok() || data.empty()) {
    core_->journal->EndIo(id(), io_seq, s.ok());
    return s;
  }
  Status s = [&]() -> Status {
    CSTOR_RETURN_IF_ERROR(CheckWritableOrReclaim());
    CSTOR_RETURN_IF_ERROR(core_->journal->WaitForRoom());
    ReaderLock io(&io_lock_);
    CSTOR_RETURN_IF_ERROR(CheckUsable());
    const uint64_t keep_at = newer_only ? io_seq : kAlways;
    return ForEachChunk(offset, data.size(), block_size(), [&](uint64_t off, uint64_t len) {
      return WriteChunk(off, data.subspan(off - offset, len), io_seq, keep_at);
    });
  }();
  core_->journal->EndIo(id(), io_seq, s.ok());
  return s;
}

Status Volume::CollectOwnLbas(uint64_t lo, uint64_t hi, size_t limit, bool with_old,
                              std::vector<uint64_t>* out) {
  std::vector<uint64_t> live;
  CSTOR_RETURN_IF_ERROR(core_->map->ScanLive(id(), lo, hi, [&](uint64_t lba, const BlockRecord&) {
    live.push_back(lba);
    return live.size() < limit;
  }));
  if (!with_old) {
    *out = std::move(live);
    return Status::Ok();
  }
  std::vector<uint64_t> old;
  CSTOR_RETURN_IF_ERROR(core_->map->ScanOld(id(), lo, hi, [&](uint64_t lba, uint64_t,
                                                              const OldRecord&) {
    if (old.empty() || old.back() != lba) old.push_back(lba);
    return old.size() < limit;
  }));
  MergeComplete(live, live.size() == limit, old, old.size() == limit, out);
  return Status::Ok();
}

void Volume::MergeComplete(const std::vector<uint64_t>& a, bool a_cut,
                           const std::vector<uint64_t>& b, bool b_cut,
                           std::vector<uint64_t>* out) {
  // A list cut short says nothing about blocks past its last one, so the union is only
  // known up to the smaller of the cut lists' ends.
  uint64_t known_to = UINT64_MAX;
  if (a_cut && !a.empty()) known_to = std::min(known_to, a.back());
  if (b_cut && !b.empty()) known_to = std::min(known_to, b.back());
  out->clear();
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(*out));
  while (!out->empty() && out->back() > known_to) out->pop_back();
}

Status Volume::CandidateLbas(uint64_t lo, uint64_t hi, size_t limit, std::vector<uint64_t>* out) {
  CSTOR_RETURN_IF_ERROR(CollectOwnLbas(lo, hi, limit, /*with_old=*/false, out));
  bool cut = out->size() == limit;
  for (Volume* v = origin_.get(); v != nullptr; v = v->origin_.get()) {
    std::vector<uint64_t> mine = std::move(*out), theirs;
    CSTOR_RETURN_IF_ERROR(v->CollectOwnLbas(lo, hi, limit, /*with_old=*/true, &theirs));
    bool theirs_cut = theirs.size() >= limit;  // conservative: may have been trimmed
    MergeComplete(mine, cut, theirs, theirs_cut, out);
    cut = cut || theirs_cut;
  }
  return Status::Ok();
}

Status Volume::UnmapBlocks(uint64_t first, uint64_t end, uint64_t io_seq, uint64_t keep_at) {
  constexpr size_t kBatch = 1024;
  uint64_t cursor = first;
  std::vector<uint64_t> lbas;
  while (cursor < end) {
    CSTOR_RETURN_IF_ERROR(CandidateLbas(cursor, end, kBatch, &lbas));
    if (lbas.empty()) break;
    cursor = lbas.size() < kBatch ? end : lbas.back() + 1;
    auto guard = stripes_.Lock(lbas, /*exclusive=*/true);
    std::vector<Journal::Change> changes;
    const uint64_t birth = core_->txg.load();
    for (uint64_t lba : lbas) {
      CSTOR_ASSIGN_OR_RETURN(auto own, core_->map->Get({id(), lba}));
      if (own && own->io_seq >= keep_at) continue;
      bool has_data = own && own->has_data();
      if (!own && origin_) {
        CSTOR_ASSIGN_OR_RETURN(auto inherited,
                               origin_->ResolveAt(lba, record_.origin_gen, true, false));
        has_data = inherited && inherited->has_data();
      }
      if (!has_data) continue;
      Journal::Change c;
      c.lba = lba;
      c.rec.unmapped = true;
      c.rec.io_seq = io_seq;
      c.rec.birth = birth;
      c.old = own;
      changes.push_back(c);
    }
    if (!changes.empty()) {
      CSTOR_RETURN_IF_ERROR(core_->journal->Apply(id(), changes, latest_snapshot_gen_.load()));
    }
  }
  return Status::Ok();
}

Status Volume::Unmap(uint64_t offset, uint64_t length, uint64_t io_seq, bool newer_only,
                     bool announced) {
  if (!announced) core_->journal->BeginIo(id(), io_seq);
  Status s = CheckRange(offset, length);
  if (s.ok() && length > 0) s = UnmapRange(offset, length, io_seq, newer_only);
  core_->journal->EndIo(id(), io_seq, s.ok());
  return s;
}

Status Volume::UnmapRange(uint64_t offset, uint64_t length, uint64_t io_seq, bool newer_only) {
  CSTOR_RETURN_IF_ERROR(core_->journal->fenced());
  CSTOR_RETURN_IF_ERROR(core_->journal->WaitForRoom());
  ReaderLock io(&io_lock_);
  CSTOR_RETURN_IF_ERROR(CheckUsable());
  const uint64_t bs = block_size(), end = offset + length;
  const uint64_t full_first = (offset + bs - 1) / bs, full_end = end / bs;
  const uint64_t keep_at = newer_only ? io_seq : kAlways;
  Status s;
  // Parts of blocks are zeroed, so the whole range reads as zeros afterwards.
  auto zero = [&](uint64_t from, uint64_t to) -> Status {
    if (from >= to) return Status::Ok();
    CSTOR_RETURN_IF_ERROR(CheckWritableOrReclaim());
    std::vector<std::byte> zeros(to - from);
    return WriteChunk(from, zeros, io_seq, keep_at);
  };
  if (full_first >= full_end) {
    s = zero(offset, end);  // inside one block, or across two partial ones
  } else {
    s = zero(offset, full_first * bs);
    if (s.ok()) s = UnmapBlocks(full_first, full_end, io_seq, keep_at);
    if (s.ok()) s = zero(full_end * bs, end);
  }
  return s;
}

Status Volume::Flush() {
  CSTOR_RETURN_IF_ERROR(CheckUsable());
  return core_->journal->Flush();
}

Status Volume::Grow(uint64_t new_size) {
  CSTOR_RETURN_IF_ERROR(ValidateGeometry(new_size, block_size()));
  MutexLock admin(&core_->admin_mu);
  WriterLock io(&io_lock_);
  CSTOR_RETURN_IF_ERROR(CheckUsable());
  uint64_t old_size = size();
  if (new_size < old_size) {
    return Status::InvalidArgument(fmt::format("volume {} is {}; shrinking to {} is not supported",
                                               name(), FormatBytes(old_size),
                                               FormatBytes(new_size)));
  }
  if (new_size == old_size) return Status::Ok();
  VolumeRecord rec = record_;
  rec.size = new_size;
  MetaStore::Batch batch;
  batch.Put(keys::Volume(id()), EncodeVolume(rec));
  CSTOR_RETURN_IF_ERROR(core_->journal->CommitAdmin(std::move(batch), {}, {}));
  record_.size = new_size;
  size_ = new_size;
  return Status::Ok();
}

Result<bool> Volume::ApplyChange(const BlockChange& change, std::optional<uint64_t> keep_at) {
  if (change.lba >= blocks()) {
    return Status::OutOfRange(fmt::format("block {} is beyond the end of volume {} ({} blocks)",
                                          change.lba, name(), blocks()));
  }
  const bool has_data = !change.unmapped && !change.absent;
  if (has_data && change.data.size() != block_size()) {
    return Status::InvalidArgument(fmt::format("change for block {} carries {} bytes, not {}",
                                               change.lba, change.data.size(), block_size()));
  }
  const uint64_t keep = keep_at.value_or(change.io_seq);
  if (has_data) CSTOR_RETURN_IF_ERROR(CheckWritableOrReclaim());
  CSTOR_RETURN_IF_ERROR(core_->journal->WaitForRoom());
  ReaderLock io(&io_lock_);
  CSTOR_RETURN_IF_ERROR(CheckUsable());
  auto guard = stripes_.Lock(change.lba, 1, /*exclusive=*/true);
  if (has_data) {
    CSTOR_ASSIGN_OR_RETURN(uint64_t written,
                           WriteBlocksLocked(change.lba, 1, change.data.span(), change.io_seq, keep));
    return written == 1;
  }
  CSTOR_ASSIGN_OR_RETURN(auto own, core_->map->Get({id(), change.lba}));
  if (own && own->io_seq >= keep) return false;
  if (change.absent && !own) return false;  // already absent
  Journal::Change c;
  c.lba = change.lba;
  c.rec.unmapped = change.unmapped;
  c.rec.absent = change.absent;
  c.rec.io_seq = change.io_seq;
  c.rec.birth = core_->txg.load();
  c.old = own;
  CSTOR_RETURN_IF_ERROR(core_->journal->Apply(id(), std::span(&c, 1), latest_snapshot_gen_));
  return true;
}

Result<BlockChange> Volume::ReadVersion(uint64_t lba, const std::string& snapshot) {
  ReaderLock io(&io_lock_);
  CSTOR_RETURN_IF_ERROR(CheckUsable());
  uint64_t gen = kLiveGen;
  if (!snapshot.empty()) {
    CSTOR_ASSIGN_OR_RETURN(SnapshotRecord snap, FindSnapshot(snapshot));
    gen = snap.gen;
  }
  if (lba >= blocks()) {
    return Status::OutOfRange(fmt::format("block {} is beyond the end of volume {}", lba, name()));
  }
  std::optional<StripeLocks::Guard> guard;
  if (gen == kLiveGen) guard.emplace(stripes_.Lock(lba, 1, /*exclusive=*/false));
  CSTOR_ASSIGN_OR_RETURN(auto rec, ResolveAt(lba, gen, /*follow_origin=*/false,
                                             /*locked=*/gen == kLiveGen));
  BlockChange c;
  c.lba = lba;
  if (!rec) {
    c.absent = true;
    return c;
  }
  c.io_seq = rec->io_seq;
  c.unmapped = rec->unmapped;
  if (rec->has_data()) {
    c.data = AlignedBuffer(block_size());
    c.status = core_->ReadAt(rec->phys, c.data.span());
    if (c.status.ok()) c.status = Verify(lba, *rec, c.data.span());
    if (!c.status.ok()) c.data = AlignedBuffer();
  }
  CSTOR_RETURN_IF_ERROR(core_->journal->fenced());  // as in ReadRange
  return c;
}

void Volume::HoldCheckpoint(std::optional<uint64_t> at) { core_->journal->HoldCheckpoint(id(), at); }

Status Volume::ForEachBlock(const std::function<bool(uint64_t, const BlockRecord&)>& fn) {
  ReaderLock io(&io_lock_);
  CSTOR_RETURN_IF_ERROR(CheckUsable());
  return core_->map->ScanLive(id(), 0, UINT64_MAX, fn);
}

Status Volume::SetAttribute(const std::string& name, const std::string& value) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return Status::InvalidArgument("attribute name must be 1-200 bytes");
  }
  MutexLock admin(&core_->admin_mu);
  CSTOR_RETURN_IF_ERROR(CheckUsable());
  MetaStore::Batch batch;
  if (value.empty()) {
    batch.Delete(keys::Attribute(id(), name));
  } else {
    batch.Put(keys::Attribute(id(), name), value);
  }
  CSTOR_RETURN_IF_ERROR(core_->journal->CommitAdmin(std::move(batch), {}, {}));
  MutexLock l(&snap_mu_);
  if (value.empty()) {
    attributes_.erase(name);
  } else {
    attributes_[name] = value;
  }
  return Status::Ok();
}

std::optional<std::string> Volume::GetAttribute(const std::string& name) {
  MutexLock l(&snap_mu_);
  auto it = attributes_.find(name);
  if (it == attributes_.end()) return std::nullopt;
  return it->second;
}

VolumeInfo Volume::Info() {
  VolumeCounters c = core_->journal->Counters(id());
  VolumeInfo info;
  info.id = id();
  info.name = name();
  info.size = size();
  info.block_size = block_size();
  info.allocated_bytes = c.live_blocks * block_size();
  info.snapshot_bytes = c.held_blocks * block_size();
  info.checkpoint_io_seq = c.checkpoint_io_seq;
  info.max_io_seq = c.max_io_seq;
  info.created_micros = record_.created_micros;
  if (origin_) {
    MutexLock l(&origin_->snap_mu_);
    for (const auto& snap : origin_->snapshots_) {
      if (snap.gen == record_.origin_gen) info.origin = origin_->name() + "@" + snap.name;
    }
  }
  MutexLock l(&snap_mu_);
  info.snapshots = snapshots_.size();
  return info;
}

uint64_t Volume::CheckpointedIoSeq() { return core_->journal->Counters(id()).checkpoint_io_seq; }

}  // namespace cstor::engine
