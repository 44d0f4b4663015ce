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
    : volume_(volume), info_(InfoOf(volume->GetStatus())) {}

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
