// Public value types of the engine API.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/aligned_buffer.h"
#include "base/status.h"
#include "env/env.h"

namespace cstor::engine {

struct DeviceSpec {
  std::string path;   // file or block device; relative paths are relative to the pool dir
  uint64_t size = 0;  // create a missing file with this size; 0 = use the existing size
};

struct PoolOptions {
  Env* env = Env::Default();
  bool direct_io = true;            // O_DIRECT on data devices (buffered where unsupported)
  uint32_t ro_threshold_pct = 85;   // at Create: refuse writes at or above this much used
                                    // (100: never; writes fail with NoSpace when full)
  size_t block_cache_bytes = 64 << 20;   // decoded block-map entries
  size_t meta_cache_bytes = 32 << 20;    // metadata store block cache
  size_t meta_write_buffer_bytes = 32 << 20;
  uint64_t max_epoch_blocks = 32768;     // uncommitted block updates before writers wait
  uint64_t max_epoch_bytes = 64 << 20;   // ... or uncommitted data
  uint64_t commit_interval_micros = 1'000'000;
};

struct VolumeInfo {
  uint64_t id = 0;
  std::string name;
  uint64_t size = 0;
  uint32_t block_size = 0;
  uint64_t allocated_bytes = 0;  // data in the live volume
  uint64_t snapshot_bytes = 0;   // data only snapshots still hold
  uint64_t checkpoint_io_seq = 0;
  uint64_t max_io_seq = 0;
  std::string origin;  // "volume@snapshot" for clones
  uint64_t created_micros = 0;
  size_t snapshots = 0;
};

struct SnapshotInfo {
  std::string name;
  uint64_t gen = 0;
  uint64_t created_micros = 0;
  uint64_t size = 0;              // the volume's size when it was taken
  uint64_t io_seq = 0;            // the volume's highest io sequence when it was taken
  uint64_t referenced_bytes = 0;  // data visible in the snapshot (own blocks, for clones)
  uint64_t used_bytes = 0;        // data that deleting only this snapshot would free
  std::vector<std::string> clones;
};

struct PoolStats {
  std::string guid;
  uint64_t total_bytes = 0;
  uint64_t used_bytes = 0;  // allocated, committed or not
  uint64_t free_bytes = 0;
  uint32_t ro_threshold_pct = 0;
  bool read_only = false;  // used >= threshold
  size_t volumes = 0;
  uint64_t checksum_errors = 0;
  uint64_t commits = 0;
  uint64_t bitmap_memory_bytes = 0;
  uint64_t block_cache_entries = 0;
  uint64_t meta_memory_bytes = 0;
  std::vector<std::string> devices;
  bool direct_io = false;
};

// One block from a change stream: its data (block_size bytes) or an unmap.
struct BlockChange {
  uint64_t lba = 0;  // in blocks of the volume's block size
  uint64_t io_seq = 0;
  bool unmapped = false;
  bool absent = false;  // the source has no version of this block at all
  AlignedBuffer data;
  Status status;  // Corruption if the source block failed its checksum (data unset)
};

struct ScrubError {
  std::string volume;
  bool snapshot_only = false;  // a version only snapshots hold
  uint64_t lba = 0;
  uint64_t io_seq = 0;
  std::string message;
};

struct ScrubReport {
  uint64_t blocks_checked = 0;
  uint64_t bytes_checked = 0;
  std::vector<ScrubError> errors;
};

// What a metadata consistency check found; empty problems means consistent.
struct CheckReport {
  uint64_t referenced_units = 0;
  uint64_t allocated_units = 0;
  std::vector<std::string> problems;
};

}  // namespace cstor::engine
