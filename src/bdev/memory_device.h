// MemoryDevice: a block device in memory, sparse (4 KiB pages allocated on first write,
// freed by unmap), for tests and for the conformance suite. Completes every call inline.
// Allocation is reported per 512-byte sector: an unmapped sector is zeroed and counts as
// deallocated even while the rest of its page holds data; the page goes with its last
// sector.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <map>
#include <memory>

#include "base/mutex.h"

#include "bdev/block_device.h"

namespace cstor::bdev {

class MemoryDevice final : public BlockDevice {
 public:
  MemoryDevice(uint64_t size, std::string serial);

  DeviceInfo Info() const override;
  uint64_t CurrentSize() const override { return size_.load(std::memory_order_acquire); }
  // Online resize: the device serves new_size bytes from now on (new blocks read as zeros).
  // Refuses to shrink and sizes that are not whole sectors.
  Status Grow(uint64_t new_size);
  void Read(uint64_t offset, uint32_t length, ReadDone done) override;
  void Write(uint64_t offset, std::string data, bool fua, Done done) override;
  void Unmap(uint64_t offset, uint64_t length, Done done) override;
  void Flush(Done done) override { done(Status::Ok()); }
  void GetAllocation(uint64_t offset, uint64_t length, AllocationDone done) override;

  // Pages holding data, for tests of thin provisioning.
  size_t allocated_pages() const;

 private:
  static constexpr uint64_t kPage = 4096;
  static constexpr uint64_t kSectorsPerPage = kPage / kSectorSize;
  static_assert(kSectorsPerPage <= 8, "one bit per sector in Page::live");
  struct Page {
    std::unique_ptr<char[]> data;  // kPage bytes
    uint8_t live = 0;              // bit i: sector i holds data (was written, not unmapped)
  };
  // The bits of the sectors of a page that [from, to) covers (offsets within the page).
  static uint8_t SectorBits(uint64_t from, uint64_t to);

  std::atomic<uint64_t> size_;
  const std::string serial_;
  mutable Mutex mu_;
  std::map<uint64_t, Page> pages_ GUARDED_BY(mu_);  // by page index
};

}  // namespace cstor::bdev
