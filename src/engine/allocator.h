// Allocator: free space on the pool's devices, one bitmap of 4 KiB allocation units per
// device, with two views of every unit:
//
//  - in use: may not be handed out. Set by Allocate; cleared by Release, which callers
//    invoke for space no durable metadata refers to any more (space a write allocated and
//    then replaced before it was committed, or space freed by a commit that is durable).
//  - persistent: the image the metadata store holds. Changed only by SetPersistent while
//    a commit builds its batch; the changed chunks are then written in that same batch,
//    so the stored bitmap always agrees with the stored block map.
//
// On open both views start equal to the stored image; space that was allocated but never
// committed before a crash is therefore free again.
//
// Allocation is next-fit from a per-device cursor, rotating over devices per request
// (striping). A request for n blocks of u units each first looks (within a bounded scan)
// for one run that holds all of it, so that sequential data stays sequential on disk even
// when free space is full of small holes; only if there is none does it fill holes, in
// runs that are each a multiple of u.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "base/result.h"
#include "engine/format.h"

namespace cstor::engine {

struct Extent {
  uint32_t device = 0;
  uint64_t unit = 0;
  uint64_t count = 0;  // units

  PhysAddr addr() const { return {device, unit}; }
  friend bool operator==(const Extent&, const Extent&) = default;
};

struct BitmapChunkImage {
  uint32_t device;
  uint64_t chunk;
  std::string bits;  // kBitmapChunkUnits / 8 bytes
};

class Allocator {
 public:
  explicit Allocator(const std::vector<uint64_t>& units_per_device);

  // Loads one stored chunk into both views. For use while opening the pool.
  Status LoadChunk(uint32_t device, uint64_t chunk, std::string_view bits);

  // Allocates blocks * units_per_block units. NoSpace (allocating nothing) if they cannot
  // be found in runs of at least units_per_block.
  Result<std::vector<Extent>> Allocate(uint64_t blocks, uint32_t units_per_block);
  void Release(const Extent& e);

  // Changes the persistent view and remembers the chunks that changed.
  void SetPersistent(const Extent& e, bool allocated);
  // The changed chunks since the last call, in their current persistent state.
  std::vector<BitmapChunkImage> TakeDirtyChunks();

  bool PersistentIsSet(uint32_t device, uint64_t unit);
  // Calls fn(device, unit) for every persistently allocated unit.
  void ForEachPersistent(const std::function<void(uint32_t, uint64_t)>& fn);

  uint64_t total_units() const { return total_units_; }
  uint64_t used_units();  // in use, committed or not
  uint64_t persistent_used_units();

 private:
  struct Device {
    uint64_t units = 0;
    std::vector<uint64_t> in_use;      // one bit per unit
    std::vector<uint64_t> persistent;  // one bit per unit
    std::vector<bool> dirty;           // per chunk
    uint64_t cursor = 0;
    uint64_t used = 0;
    uint64_t persistent_used = 0;
  };

  // Finds a free run of at least min_len units (taking at most max_len) at or after the
  // cursor, wrapping once, looking at no more than scan_limit units. Returns the run
  // length (0 if none) and its start in *start.
  uint64_t FindRun(Device& d, uint64_t min_len, uint64_t max_len, uint64_t scan_limit,
                   uint64_t* start) REQUIRES(mu_);
  // Takes [start, start + len) on device dev and advances its cursor.
  Extent Take(uint32_t dev, uint64_t start, uint64_t len) REQUIRES(mu_);
  static bool Test(const std::vector<uint64_t>& bits, uint64_t i) {
    return (bits[i / 64] >> (i % 64)) & 1;
  }
  static void SetRange(std::vector<uint64_t>& bits, uint64_t start, uint64_t n, bool value);
  void CheckExtent(const Extent& e) REQUIRES(mu_);

  Mutex mu_;
  std::vector<Device> devices_ GUARDED_BY(mu_);
  uint32_t next_device_ GUARDED_BY(mu_) = 0;
  // How far a search for one contiguous run may look (16 GiB of 4 KiB units).
  static constexpr uint64_t kContiguousScanUnits = uint64_t{4} << 20;
  uint64_t total_units_ = 0;
};

}  // namespace cstor::engine
