// Pool: volume administration, statistics and shutdown.
#include <fmt/format.h>

#include "base/check.h"
#include "base/log.h"
#include "engine/pool.h"
#include "engine/pool_core.h"

namespace cstor::engine {

Status Pool::LoadVolumes() {
  PoolCore& core = *core_;
  MetaStore& store = *core.store;
  std::vector<VolumeRecord> records;
  CSTOR_RETURN_IF_ERROR(ScanRecords(store, keys::VolumePrefix(), DecodeVolume, &records));

  std::vector<std::pair<std::shared_ptr<Volume>, SnapshotRecord>> unfinished_snapshots;
  std::vector<VolumeRecord> unfinished_volumes;
  for (const VolumeRecord& rec : records) {  // ids ascend: origins load before their clones
    if (rec.state == LifeState::kDeleting) {
      unfinished_volumes.push_back(rec);
      continue;
    }
    std::shared_ptr<Volume> origin;
    if (rec.origin_volume != 0) {
      origin = core.FindVolumeById(rec.origin_volume);
      if (!origin) {
        return Status::Corruption(fmt::format("clone {} has a missing origin volume {}",
                                              rec.name, rec.origin_volume));
      }
    }
    CSTOR_ASSIGN_OR_RETURN(auto counters_value, store.Get(keys::Counters(rec.id)));
    VolumeCounters counters;
    if (counters_value) {
      CSTOR_ASSIGN_OR_RETURN(counters, DecodeCounters(*counters_value));
    }
    core.journal->AddVolume(rec.id, counters, rec.block_size / kUnitSize);
    auto volume = std::make_shared<Volume>(&core, rec, origin);
    std::vector<SnapshotRecord> snaps;
    CSTOR_RETURN_IF_ERROR(
        ScanRecords(store, keys::SnapshotPrefix(rec.id), DecodeSnapshot, &snaps));
    std::string attrs = keys::AttributePrefix(rec.id);
    CSTOR_RETURN_IF_ERROR(store.Scan(attrs, keys::PrefixEnd(attrs),
                                     [&](std::string_view k, std::string_view v) {
      MutexLock l(&volume->snap_mu_);
      volume->attributes_[std::string(k.substr(attrs.size()))] = std::string(v);
      return true;
    }));
    {
      MutexLock l(&volume->snap_mu_);
      for (const SnapshotRecord& snap : snaps) {
        if (snap.state == LifeState::kDeleting) {
          unfinished_snapshots.emplace_back(volume, snap);
        } else {
          volume->snapshots_.push_back(snap);
          volume->latest_snapshot_gen_ = snap.gen;
        }
      }
    }
    MutexLock l(&core.volumes_mu);
    core.volumes[rec.name] = volume;
  }
  core.journal->Start();

  MutexLock admin(&core.admin_mu);
  for (auto& [volume, snap] : unfinished_snapshots) {
    CSTOR_LOG_INFO("finishing the deletion of snapshot {}@{}", volume->name(), snap.name);
    CSTOR_RETURN_IF_ERROR(volume->ReclaimSnapshot(snap));
  }
  for (const VolumeRecord& rec : unfinished_volumes) {
    CSTOR_LOG_INFO("finishing the deletion of volume {}", rec.name);
    CSTOR_RETURN_IF_ERROR(core.ReclaimVolume(rec));
  }
  return Status::Ok();
}

Result<std::shared_ptr<Volume>> Pool::AddVolumeLocked(VolumeRecord rec,
                                                      std::shared_ptr<Volume> origin)
    NO_THREAD_SAFETY_ANALYSIS {  // REQUIRES: core_->admin_mu
  PoolCore& core = *core_;
  if (core.FindVolume(rec.name)) {
    return Status::AlreadyExists("volume " + rec.name + " already exists");
  }
  rec.id = core.record.next_volume_id;
  rec.created_micros = core.env->WallMicros();
  rec.state = LifeState::kLive;
  PoolRecord next = core.record;
  next.next_volume_id++;
  MetaStore::Batch batch;
  batch.Put(keys::Volume(rec.id), EncodeVolume(rec));
  batch.Put(keys::Name(rec.name), EncodeU64(rec.id));
  batch.Put(keys::Counters(rec.id), EncodeCounters({}));
  batch.Put(keys::Pool(), EncodePool(next));
  CSTOR_RETURN_IF_ERROR(core.journal->CommitAdmin(std::move(batch), {}, {}));
  core.record = next;
  core.journal->AddVolume(rec.id, {}, rec.block_size / kUnitSize);
  auto volume = std::make_shared<Volume>(&core, rec, std::move(origin));
  MutexLock l(&core.volumes_mu);
  core.volumes[rec.name] = volume;
  return volume;
}

Result<std::shared_ptr<Volume>> Pool::CreateVolume(const std::string& name, uint64_t size,
                                                   uint32_t block_size) {
  CSTOR_RETURN_IF_ERROR(ValidateObjectName(name, "volume"));
  CSTOR_RETURN_IF_ERROR(ValidateGeometry(size, block_size));
  if (core_->closed) return Status::FailedPrecondition("pool is closed");
  MutexLock admin(&core_->admin_mu);
  VolumeRecord rec;
  rec.name = name;
  rec.size = size;
  rec.block_size = block_size;
  return AddVolumeLocked(rec, nullptr);
}

Result<std::shared_ptr<Volume>> Pool::CloneVolume(const std::string& name,
                                                  const std::string& source,
                                                  const std::string& snapshot) {
  CSTOR_RETURN_IF_ERROR(ValidateObjectName(name, "volume"));
  if (core_->closed) return Status::FailedPrecondition("pool is closed");
  MutexLock admin(&core_->admin_mu);
  auto origin = core_->FindVolume(source);
  if (!origin) return Status::NotFound("volume " + source + " does not exist");
  CSTOR_ASSIGN_OR_RETURN(SnapshotRecord snap, origin->FindSnapshot(snapshot));
  VolumeRecord rec;
  rec.name = name;
  rec.size = snap.size;
  rec.block_size = origin->block_size();
  rec.origin_volume = origin->id();
  rec.origin_gen = snap.gen;
  return AddVolumeLocked(rec, origin);
}

Result<std::shared_ptr<Volume>> Pool::OpenVolume(const std::string& name) {
  auto volume = core_->FindVolume(name);
  if (!volume) return Status::NotFound("volume " + name + " does not exist");
  return volume;
}

Status Pool::DeleteVolume(const std::string& name) {
  PoolCore& core = *core_;
  MutexLock admin(&core.admin_mu);
  auto volume = core.FindVolume(name);
  if (!volume) return Status::NotFound("volume " + name + " does not exist");
  auto clones = core.ClonesOf(volume->id(), 0);
  if (!clones.empty()) {
    return Status::FailedPrecondition(fmt::format(
        "volume {} has clones ({}); delete them first", name, fmt::join(clones, ", ")));
  }
  VolumeRecord rec;
  {
    WriterLock io(&volume->io_lock_);
    volume->deleted_ = true;
    CSTOR_RETURN_IF_ERROR(core.journal->Flush());
    rec = volume->record_;
    rec.size = volume->size();
    rec.state = LifeState::kDeleting;
    MetaStore::Batch batch;
    batch.Put(keys::Volume(rec.id), EncodeVolume(rec));
    batch.Delete(keys::Name(rec.name));
    CSTOR_RETURN_IF_ERROR(core.journal->CommitAdmin(std::move(batch), {}, {}));
  }
  core.journal->RemoveVolume(rec.id);
  {
    MutexLock l(&core.volumes_mu);
    core.volumes.erase(name);
  }
  return core.ReclaimVolume(rec);
}

std::vector<VolumeInfo> Pool::ListVolumes() {
  std::vector<std::shared_ptr<Volume>> volumes;
  {
    MutexLock l(&core_->volumes_mu);
    for (auto& [name, v] : core_->volumes) volumes.push_back(v);
  }
  std::vector<VolumeInfo> out;
  for (auto& v : volumes) out.push_back(v->Info());
  return out;
}

Status Pool::Flush() { return core_->journal->Flush(); }

PoolStats Pool::Stats() {
  PoolCore& core = *core_;
  PoolStats s;
  uint64_t total = core.alloc->total_units(), used = core.alloc->used_units();
  s.total_bytes = total * kUnitSize;
  s.used_bytes = used * kUnitSize;
  s.free_bytes = s.total_bytes - s.used_bytes;
  {
    MutexLock l(&core.admin_mu);
    s.guid = GuidToString(core.record.guid);
    s.ro_threshold_pct = core.record.ro_threshold_pct;
  }
  s.read_only = s.ro_threshold_pct < 100 && used * 100 >= uint64_t{s.ro_threshold_pct} * total;
  {
    MutexLock l(&core.volumes_mu);
    s.volumes = core.volumes.size();
  }
  s.checksum_errors = core.checksum_errors.load();
  s.commits = core.journal->commits();
  s.bitmap_memory_bytes = 2 * ((total + 63) / 64) * 8;  // in-use and persistent views
  s.block_cache_entries = core.cache->entries();
  s.meta_memory_bytes = core.store->MemoryUsage();
  for (auto& d : core.devices) {
    s.devices.push_back(d->path());
    s.direct_io = d->direct_io();
  }
  return s;
}

Status Pool::Close() NO_THREAD_SAFETY_ANALYSIS {
  {
    // Wait for IO in flight, and turn away what comes after: each IO checks `closed`
    // under its volume's io lock.
    MutexLock admin(&core_->admin_mu);
    if (core_->closed) return Status::Ok();
    std::vector<std::shared_ptr<Volume>> volumes;
    {
      MutexLock l(&core_->volumes_mu);
      for (auto& [name, v] : core_->volumes) volumes.push_back(v);
    }
    for (auto& v : volumes) v->io_lock_.Lock();
    core_->closed = true;
    for (auto& v : volumes) v->io_lock_.Unlock();
  }
  Status s = core_->journal->Close();
  core_->store.reset();
  core_->lock.reset();
  return s;
}

}  // namespace cstor::engine
