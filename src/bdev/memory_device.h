// MemoryDevice: a block device in memory, sparse (4 KiB pages allocated on first write,
// freed by unmap), for tests and for the conformance suite. Completes every call inline.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <map>
#include <memory>
#include "base/mutex.h"

#include "bdev/block_device.h"

namespace cstor::bdev {

class MemoryDevice final : public BlockDevice {
 public:
  MemoryDevice(uint64_t size, std::string serial);

  DeviceInfo Info() const override;
  void Read(uint64_t offset, uint32_t length, ReadDone done) override;
  void Write(uint64_t offset, std::string data, bool fua, Done done) override;
  void Unmap(uint64_t offset, uint64_t length, Done done) override;
  void Flush(Done done) override { done(Status::Ok()); }
  void GetAllocation(uint64_t offset, uint64_t length, AllocationDone done) override;

  // Pages holding data, for tests of thin provisioning.
  size_t allocated_pages() const;

 private:
  static constexpr uint64_t kPage = 4096;
  const uint64_t size_;
  const std::string serial_;
  mutable Mutex mu_;
  std::map<uint64_t, std::unique_ptr<char[]>> pages_ GUARDED_BY(mu_);  // index -> kPage bytes
};

}  // namespace cstor::bdev
