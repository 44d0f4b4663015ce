#include "target/replicated_device.h"

#include <algorithm>

namespace cstor::target {
namespace {

bdev::DeviceInfo InfoOf(const replication::VolumeStatus& s) {
  bdev::DeviceInfo info;
  info.size = s.size;
  // Writes smaller than a volume block are read-modify-write in the target; initiators
  // that honour the physical block size avoid them. SBC needs a power of two of sectors.
  info.physical_block_size = std::max<uint32_t>(s.block_size, bdev::kSectorSize);
  info.thin = true;  // engine volumes are thin; unmapped blocks read as zeros
  info.serial = "cstor-" + s.name;
  return info;
}

}  // namespace

ReplicatedDevice::ReplicatedDevice(VolumeTarget* volume)
    : volume_(volume), info_(InfoOf(volume->GetStatus())), size_(info_.size) {}

bdev::DeviceInfo ReplicatedDevice::Info() const {
  bdev::DeviceInfo info = info_;
  info.size = CurrentSize();
  return info;
}

uint64_t ReplicatedDevice::CurrentSize() const {
  if (volume_->loop().InLoop()) {
    // A volume never shrinks; 0 means it is stopping, when the last size stands.
    const uint64_t now = volume_->SizeOnLoop();
    if (now > size_.load(std::memory_order_relaxed)) size_.store(now, std::memory_order_release);
  }
  return size_.load(std::memory_order_acquire);
}

void ReplicatedDevice::Read(uint64_t offset, uint32_t length, ReadDone done) {
  volume_->Read(offset, length, std::move(done));
}

void ReplicatedDevice::Write(uint64_t offset, std::string data, bool fua, Done done) {
  if (!fua) return volume_->Write(offset, std::move(data), std::move(done));
  VolumeTarget* volume = volume_;
  volume_->Write(offset, std::move(data), [volume, done = std::move(done)](Status s) mutable {
    if (!s.ok()) return done(s);
    volume->Flush(std::move(done));
  });
}

void ReplicatedDevice::Unmap(uint64_t offset, uint64_t length, Done done) {
  volume_->Unmap(offset, length, std::move(done));
}

void ReplicatedDevice::Flush(Done done) { volume_->Flush(std::move(done)); }

}  // namespace cstor::target
