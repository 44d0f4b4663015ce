// Pool: cstor's replica storage engine. A pool is a directory holding the metadata store
// plus one or more data devices (files or block devices, striped). It holds thin volumes
// with copy-on-write snapshots and clones; see docs/engine.md for the design and
// docs/engine-format.md for the on-disk format.
//
// Durability: writes acknowledged before a Flush may be lost in a crash; everything
// written before a Flush that returned OK survives. After any crash every block reads as
// one of the versions written to it, and the pool opens without repair.
//
// Thread-safety: all methods are thread-safe. Volume handles must not outlive the Pool.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/types.h"
#include "engine/volume.h"

namespace cstor::engine {

struct PoolCore;

class Pool {
 public:
  static Result<std::unique_ptr<Pool>> Create(const std::string& dir,
                                              const std::vector<DeviceSpec>& devices,
                                              const PoolOptions& options = {});
  static Result<std::unique_ptr<Pool>> Open(const std::string& dir,
                                            const PoolOptions& options = {});
  ~Pool();
  // Commits everything and closes. Called by the destructor if not called before.
  Status Close();

  // block_size: a power of two from 4 KiB to 128 KiB; size: a multiple of it.
  Result<std::shared_ptr<Volume>> CreateVolume(const std::string& name, uint64_t size,
                                               uint32_t block_size = 4096);
  // A writable volume that starts as `source`'s snapshot `snapshot`.
  Result<std::shared_ptr<Volume>> CloneVolume(const std::string& name,
                                              const std::string& source,
                                              const std::string& snapshot);
  Result<std::shared_ptr<Volume>> OpenVolume(const std::string& name);
  // Deletes a volume, its snapshots and its data. Refused while clones of it exist.
  Status DeleteVolume(const std::string& name);
  std::vector<VolumeInfo> ListVolumes();

  Status Flush();
  PoolStats Stats();
  // Reads and verifies every stored block. progress(done_bytes, total_bytes) is called
  // now and then.
  Result<ScrubReport> Scrub(const std::function<void(uint64_t, uint64_t)>& progress = {});
  // Verifies metadata: every block's space allocated exactly once, nothing allocated that
  // nothing references, counters right. Waits for in-flight IO.
  Result<CheckReport> Check();

  const std::string& dir() const;

 private:
  explicit Pool(std::unique_ptr<PoolCore> core);
  // Loads volumes and snapshots, starts the journal, finishes interrupted deletions.
  Status LoadVolumes();
  // Records a new volume (plain or clone) durably and makes it visible.
  Result<std::shared_ptr<Volume>> AddVolumeLocked(VolumeRecord rec,
                                                  std::shared_ptr<Volume> origin);

  std::unique_ptr<PoolCore> core_;
};

}  // namespace cstor::engine
