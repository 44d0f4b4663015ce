// BlockDevice: what the SCSI layer serves as a LUN. A memory device, a file and the
// replicated volume are block devices; the SCSI and iSCSI layers know nothing else.
//
// Offsets and lengths are bytes and multiples of 512 (the logical block size); the caller
// checks them against size(). Every call answers exactly once, through its callback,
// possibly on another thread and possibly before the call returns. Calls may overlap; a
// device applies overlapping writes in some order, and the SCSI layer orders them where
// the protocol requires it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"

namespace cstor::bdev {

inline constexpr uint32_t kSectorSize = 512;

struct DeviceInfo {
  uint64_t size = 0;                   // bytes
  uint32_t physical_block_size = 4096; // the unit below which writes are read-modify-write
  bool thin = true;                    // unmap deallocates; unmapped blocks read as zeros
  std::string serial;                  // stable across restarts (unit serial number)
};

class BlockDevice {
 public:
  using Done = std::function<void(Status)>;
  using ReadDone = std::function<void(Result<std::string>)>;

  virtual ~BlockDevice() = default;

  // Info().size is the size when asked.
  virtual DeviceInfo Info() const = 0;
  // The size now, in bytes. A device may grow while it is served (never shrink); the
  // logical unit asks before every command, so this is cheap and callable from any thread.
  virtual uint64_t CurrentSize() const { return Info().size; }
  virtual void Read(uint64_t offset, uint32_t length, ReadDone done) = 0;
  // With fua, the data is durable when done reports success.
  virtual void Write(uint64_t offset, std::string data, bool fua, Done done) = 0;
  // Afterwards the range reads as zeros.
  virtual void Unmap(uint64_t offset, uint64_t length, Done done) = 0;
  // Every write that completed before Flush was called is durable when done reports success.
  virtual void Flush(Done done) = 0;

  // Which parts of [offset, offset + length) hold data, in order, covering the range. The
  // default says all of it (a device that cannot tell).
  struct Extent {
    uint64_t offset;
    uint64_t length;
    bool mapped;
  };
  using AllocationDone = std::function<void(Result<std::vector<Extent>>)>;
  virtual void GetAllocation(uint64_t offset, uint64_t length, AllocationDone done) {
    done(std::vector<Extent>{{offset, length, true}});
  }
};

}  // namespace cstor::bdev
