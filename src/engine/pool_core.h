// PoolCore: the parts of an open pool that its volumes share. Internal to the engine.
//
// Lock order: admin_mu, then a volume's io_lock_, then its stripes, then the journal's
// locks, then the allocator's. volumes_mu is only held briefly and never while taking the
// others.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "engine/allocator.h"
#include "engine/block_cache.h"
#include "engine/block_map.h"
#include "engine/device.h"
#include "engine/journal.h"
#include "engine/meta_store.h"
#include "engine/types.h"
#include "engine/volume.h"

namespace cstor::engine {

inline constexpr uint64_t kLiveGen = UINT64_MAX;  // "the live volume" as a generation
inline constexpr size_t kReclaimBatchKeys = 4096;

// Names of volumes and snapshots: letters, digits, '.', '_' and '-', starting with a letter
// or digit (Kubernetes object names fit). '@' is reserved for "volume@snapshot".
Status ValidateObjectName(const std::string& name, std::string_view what);
// A power-of-two block size from 4 KiB to 128 KiB, and a size that is a multiple of it.
Status ValidateGeometry(uint64_t size, uint64_t block_size);

struct PoolCore {
  Env* env = nullptr;
  std::string dir;
  PoolOptions options;
  std::unique_ptr<FileLock> lock;
  std::unique_ptr<MetaStore> store;
  std::vector<std::unique_ptr<Device>> devices;
  std::unique_ptr<Allocator> alloc;
  std::unique_ptr<BlockCache> cache;
  std::unique_ptr<Journal> journal;
  std::unique_ptr<BlockMap> map;
  std::atomic<uint64_t> txg{1};
  std::atomic<uint64_t> checksum_errors{0};
  std::atomic<bool> closed{false};

  Mutex admin_mu ACQUIRED_BEFORE(volumes_mu);
  PoolRecord record GUARDED_BY(admin_mu);

  Mutex volumes_mu;
  std::map<std::string, std::shared_ptr<Volume>> volumes GUARDED_BY(volumes_mu);

  // OK if new data may be written: not fenced, and below the read-only threshold.
  Status CheckWritable();
  // Reads data a record points at; a record naming a device the pool lacks is Corruption.
  Status ReadAt(const PhysAddr& at, std::span<std::byte> out);
  std::shared_ptr<Volume> FindVolume(const std::string& name) EXCLUDES(volumes_mu);
  std::shared_ptr<Volume> FindVolumeById(uint64_t id) EXCLUDES(volumes_mu);
  // Names of clones whose origin is (volume, gen); gen 0 matches any snapshot.
  std::vector<std::string> ClonesOf(uint64_t volume, uint64_t gen) EXCLUDES(volumes_mu);
  // Removes a volume's keys and frees its space, in batches; safe to repeat after a crash.
  Status ReclaimVolume(const VolumeRecord& rec) REQUIRES(admin_mu);
};

}  // namespace cstor::engine
