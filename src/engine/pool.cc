#include "engine/pool.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "base/check.h"
#include "base/log.h"
#include "base/random.h"
#include "base/units.h"
#include "engine/pool_core.h"

namespace cstor::engine {
namespace {

constexpr const char* kMetaDir = "meta";
constexpr const char* kLockFile = "pool.lock";

std::string DevicePath(const std::string& dir, const std::string& path) {
  return !path.empty() && path[0] == '/' ? path : JoinPath(dir, path);
}

}  // namespace

Status ValidateObjectName(const std::string& name, std::string_view what) {
  if (name.empty()) return Status::InvalidArgument(fmt::format("{} name is empty", what));
  if (name.size() > kMaxNameLength) {
    return Status::InvalidArgument(
        fmt::format("{} name is {} characters; the limit is {}", what, name.size(),
                    kMaxNameLength));
  }
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) {
    return Status::InvalidArgument(
        fmt::format("{} name '{}' must start with a letter or digit", what, name));
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return Status::InvalidArgument(fmt::format(
          "{} name '{}' has '{}'; use letters, digits, '.', '_' and '-'", what, name, c));
    }
  }
  return Status::Ok();
}

Status ValidateGeometry(uint64_t size, uint64_t block_size) {
  if (block_size < kMinBlockSize || block_size > kMaxBlockSize ||
      (block_size & (block_size - 1)) != 0) {
    return Status::InvalidArgument(
        fmt::format("block size {} is not a power of two from {} to {}", block_size,
                    FormatBytes(kMinBlockSize), FormatBytes(kMaxBlockSize)));
  }
  if (size == 0) return Status::InvalidArgument("volume size is zero");
  if (size % block_size != 0) {
    return Status::InvalidArgument(fmt::format(
        "volume size {} is not a multiple of the block size {}", size, FormatBytes(block_size)));
  }
  return Status::Ok();
}

namespace {

Guid NewGuid(Env* env) {
  Random rng(env->NewRandomSeed());
  Guid g;
  for (auto& b : g) b = static_cast<uint8_t>(rng.Next());
  g[6] = (g[6] & 0x0f) | 0x40;  // RFC 4122 version 4
  g[8] = (g[8] & 0x3f) | 0x80;
  return g;
}

// Undoes a half-done pool creation so that it can be retried.
void UndoCreate(Env* env, const std::vector<std::string>& created_files,
                const std::vector<std::unique_ptr<Device>>& labelled) {
  std::string zeros(kDeviceLabelSize, '\0');
  for (const auto& dev : labelled) {
    (void)dev->file()->Write(0, std::as_bytes(std::span(zeros)));
  }
  for (const auto& path : created_files) (void)env->DeleteFile(path);
}

}  // namespace

// ---- PoolCore ----

Status PoolCore::CheckWritable() {
  CSTOR_RETURN_IF_ERROR(journal->fenced());
  uint64_t total = alloc->total_units();
  uint64_t used = alloc->used_units();
  uint32_t threshold;
  {
    MutexLock l(&admin_mu);
    threshold = record.ro_threshold_pct;
  }
  if (threshold < 100 && used * 100 >= uint64_t{threshold} * total) {
    return Status::ReadOnly(fmt::format(
        "pool is read-only: {} of {} used ({}%), at or above the {}% threshold; delete "
        "snapshots or volumes to free space",
        FormatBytes(used * kUnitSize), FormatBytes(total * kUnitSize), used * 100 / total,
        threshold));
  }
  return Status::Ok();
}

Status PoolCore::ReadAt(const PhysAddr& at, std::span<std::byte> out) {
  if (at.device >= devices.size()) {
    return Status::Corruption(fmt::format("metadata points at device {}, which the pool lacks",
                                          at.device));
  }
  return devices[at.device]->Read(at.unit, out);
}

std::shared_ptr<Volume> PoolCore::FindVolume(const std::string& name) {
  MutexLock l(&volumes_mu);
  auto it = volumes.find(name);
  return it == volumes.end() ? nullptr : it->second;
}

std::shared_ptr<Volume> PoolCore::FindVolumeById(uint64_t id) {
  MutexLock l(&volumes_mu);
  for (auto& [name, v] : volumes) {
    if (v->id() == id) return v;
  }
  return nullptr;
}

std::vector<std::string> PoolCore::ClonesOf(uint64_t volume, uint64_t gen) {
  MutexLock l(&volumes_mu);
  std::vector<std::string> out;
  for (auto& [name, v] : volumes) {
    if (v->record_.origin_volume == volume && (gen == 0 || v->record_.origin_gen == gen)) {
      out.push_back(name);
    }
  }
  return out;
}

Status PoolCore::ReclaimVolume(const VolumeRecord& rec) {
  const uint32_t units = rec.block_size / kUnitSize;
  const std::string prefixes[] = {keys::BlockPrefix(rec.id), keys::OldPrefix(rec.id),
                                  keys::KillPrefix(rec.id), keys::SnapshotPrefix(rec.id),
                                  keys::AttributePrefix(rec.id)};
  while (true) {
    MetaStore::Batch batch;
    std::vector<Extent> frees;
    Status decode;
    for (const std::string& prefix : prefixes) {
      if (batch.count() >= kReclaimBatchKeys) break;
      CSTOR_RETURN_IF_ERROR(store->Scan(prefix, keys::PrefixEnd(prefix),
                                        [&](std::string_view k, std::string_view v) {
        batch.Delete(k);
        std::optional<BlockRecord> r;
        if (k[0] == 'B') {
          auto d = DecodeBlock(v);
          if (d.ok()) r = *d; else decode = d.status();
        } else if (k[0] == 'O') {
          auto d = DecodeOld(v);
          if (d.ok()) r = d->rec; else decode = d.status();
        }
        if (r && r->has_data()) frees.push_back({r->phys.device, r->phys.unit, units});
        return decode.ok() && batch.count() < kReclaimBatchKeys;
      }));
      CSTOR_RETURN_IF_ERROR(decode);
    }
    if (batch.count() == 0) break;
    CSTOR_RETURN_IF_ERROR(journal->CommitAdmin(std::move(batch), frees, {}));
  }
  MetaStore::Batch last;
  last.Delete(keys::Counters(rec.id));
  last.Delete(keys::Volume(rec.id));
  CSTOR_RETURN_IF_ERROR(journal->CommitAdmin(std::move(last), {}, {}));
  cache->EraseVolume(rec.id);
  return Status::Ok();
}

// ---- Pool: create and open ----

Pool::Pool(std::unique_ptr<PoolCore> core) : core_(std::move(core)) {}

Pool::~Pool() {
  Status s = Close();
  if (!s.ok()) CSTOR_LOG_WARN("closing pool {}: {}", core_->dir, s.ToString());
}

const std::string& Pool::dir() const { return core_->dir; }

Result<std::unique_ptr<Pool>> Pool::Create(const std::string& dir,
                                           const std::vector<DeviceSpec>& specs,
                                           const PoolOptions& options) {
  Env* env = options.env;
  if (specs.empty()) return Status::InvalidArgument("a pool needs at least one device");
  if (options.ro_threshold_pct == 0 || options.ro_threshold_pct > 100) {
    return Status::InvalidArgument(fmt::format(
        "read-only threshold {}% is outside 1-100%", options.ro_threshold_pct));
  }
  std::set<std::string> seen;
  for (const auto& spec : specs) {
    if (!seen.insert(DevicePath(dir, spec.path)).second) {
      return Status::InvalidArgument("device " + spec.path + " is listed twice");
    }
  }
  CSTOR_RETURN_IF_ERROR(env->CreateDirs(dir));
  const std::string meta = JoinPath(dir, kMetaDir);
  CSTOR_ASSIGN_OR_RETURN(FileInfo meta_info, env->Stat(meta));
  if (meta_info.exists) return Status::AlreadyExists("a pool already exists in " + dir);
  {
    CSTOR_ASSIGN_OR_RETURN(auto lock, env->LockFile(JoinPath(dir, kLockFile)));
    PoolRecord record;
    record.guid = NewGuid(env);
    record.ro_threshold_pct = options.ro_threshold_pct;
    record.device_count = static_cast<uint32_t>(specs.size());
    record.created_micros = env->WallMicros();

    std::vector<std::unique_ptr<Device>> devices;
    std::vector<std::string> created;
    MetaStore::Batch batch;
    for (uint32_t i = 0; i < specs.size(); i++) {
      std::string path = DevicePath(dir, specs[i].path);
      auto info = env->Stat(path);
      bool existed = info.ok() && info->exists;
      auto dev = Device::Create(env, path, specs[i].size, i, record.guid, options.direct_io);
      if (!existed && (dev.ok() || env->Stat(path)->exists)) created.push_back(path);
      if (!dev.ok()) {
        UndoCreate(env, created, devices);
        return dev.status();
      }
      DeviceRecord dr{i, specs[i].path, (*dev)->size(), (*dev)->units()};
      batch.Put(keys::Device(i), EncodeDevice(dr));
      devices.push_back(std::move(*dev));
    }
    batch.Put(keys::Pool(), EncodePool(record));
    auto store = MetaStore::Open(meta, {.env = env, .create = true});
    Status s = store.ok() ? (*store)->Write(batch, /*sync=*/true) : store.status();
    if (!s.ok()) {
      UndoCreate(env, created, devices);
      return s.WithContext("create pool metadata in " + meta);
    }
  }
  return Open(dir, options);
}

Result<std::unique_ptr<Pool>> Pool::Open(const std::string& dir, const PoolOptions& options) {
  Env* env = options.env;
  const std::string meta = JoinPath(dir, kMetaDir);
  CSTOR_ASSIGN_OR_RETURN(FileInfo meta_info, env->Stat(meta));
  if (!meta_info.exists) return Status::NotFound("no pool in " + dir + " (no " + meta + ")");
  auto core = std::make_unique<PoolCore>();
  core->env = env;
  core->dir = dir;
  core->options = options;
  auto lock = env->LockFile(JoinPath(dir, kLockFile));
  if (!lock.ok()) return Status::FailedPrecondition("pool " + dir + " is in use: " +
                                                    lock.status().message());
  core->lock = std::move(*lock);
  CSTOR_ASSIGN_OR_RETURN(core->store,
                         MetaStore::Open(meta, {.env = env,
                                                .write_buffer_bytes = options.meta_write_buffer_bytes,
                                                .block_cache_bytes = options.meta_cache_bytes}));
  MetaStore& store = *core->store;

  CSTOR_ASSIGN_OR_RETURN(auto pool_value, store.Get(keys::Pool()));
  if (!pool_value) {
    return Status::Corruption("pool creation in " + dir +
                              " did not finish; remove the directory and create it again");
  }
  CSTOR_ASSIGN_OR_RETURN(PoolRecord record, DecodePool(*pool_value));

  std::vector<DeviceRecord> device_records;
  CSTOR_RETURN_IF_ERROR(ScanRecords(store, keys::DevicePrefix(), DecodeDevice, &device_records));
  if (device_records.size() != record.device_count) {
    return Status::Corruption(fmt::format("pool lists {} devices but records {}",
                                          record.device_count, device_records.size()));
  }
  std::vector<uint64_t> units;
  std::vector<File*> files;
  for (const DeviceRecord& dr : device_records) {
    CSTOR_ASSIGN_OR_RETURN(auto dev, Device::Open(env, DevicePath(dir, dr.path), dr,
                                                  record.guid, options.direct_io));
    units.push_back(dr.units);
    files.push_back(dev->file());
    core->devices.push_back(std::move(dev));
  }
  core->alloc = std::make_unique<Allocator>(units);
  Status decode;
  CSTOR_RETURN_IF_ERROR(store.Scan("A", keys::PrefixEnd("A"),
                                   [&](std::string_view k, std::string_view v) {
    uint32_t device;
    uint64_t chunk;
    decode = keys::ParseBitmapChunk(k, &device, &chunk)
                 ? core->alloc->LoadChunk(device, chunk, v)
                 : Status::Corruption("malformed bitmap key");
    return decode.ok();
  }));
  CSTOR_RETURN_IF_ERROR(decode);

  core->cache = std::make_unique<BlockCache>(options.block_cache_bytes);
  core->journal = std::make_unique<Journal>(
      env, &store, core->alloc.get(), core->cache.get(), files,
      Journal::Options{options.max_epoch_blocks, options.max_epoch_bytes,
                       options.commit_interval_micros});
  core->map = std::make_unique<BlockMap>(core->journal.get(), core->cache.get(), &store);
  core->txg = record.txg;
  {
    MutexLock l(&core->admin_mu);
    core->record = record;
  }
  std::unique_ptr<Pool> pool(new Pool(std::move(core)));
  CSTOR_RETURN_IF_ERROR(pool->LoadVolumes());
  return pool;
}

}  // namespace cstor::engine
