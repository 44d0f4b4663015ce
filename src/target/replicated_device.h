// ReplicatedDevice: a replicated volume as a block device, so that the SCSI layer serves it
// like any other LUN. It forwards every call to the VolumeTarget; its answers arrive on the
// target's loop.
//
// Durability: a write is acknowledged once a quorum of replicas has it; FUA adds a flush,
// which makes every earlier acknowledged write durable on a quorum (docs/replication.md).
// While the volume has no quorum, IO fails with Unavailable, which the SCSI layer reports
// as NOT READY, BECOMING READY: initiators retry it until the replicas are back.
#pragma once

#include <atomic>

#include "bdev/block_device.h"
#include "target/volume_target.h"

namespace cstor::target {

class ReplicatedDevice final : public bdev::BlockDevice {
 public:
  // The volume must outlive the device and know its size (status().size > 0).
  explicit ReplicatedDevice(VolumeTarget* volume);

  bdev::DeviceInfo Info() const override;
  // The volume's size: read from the volume when called on its loop (where the logical
  // unit runs when it shares the loop, as `cstor target` does), else the size last read
  // there. The volume grows by VolumeTarget::Resize, or when a replica grown while away
  // rejoins; the logical unit then reports the new capacity.
  uint64_t CurrentSize() const override;
  void Read(uint64_t offset, uint32_t length, ReadDone done) override;
  void Write(uint64_t offset, std::string data, bool fua, Done done) override;
  void Unmap(uint64_t offset, uint64_t length, Done done) override;
  void Flush(Done done) override;

 private:
  VolumeTarget* const volume_;
  const bdev::DeviceInfo info_;  // all but the size
  mutable std::atomic<uint64_t> size_;
};

}  // namespace cstor::target
