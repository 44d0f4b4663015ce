// Device: one backing file or block device of a pool. The first 4 KiB hold a label
// (pool guid, device index, size); allocation units start at kDeviceDataOffset.
//
// Thread-safety: Read and Write may be called concurrently (positional IO).
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "engine/format.h"
#include "env/env.h"

namespace cstor::engine {

class Device {
 public:
  // Labels path as device `index` of pool `guid`. A missing file is created sparse with
  // `size` bytes; an existing file or block device keeps its size unless size is larger
  // (files only). Refuses a device that already carries another pool's label.
  static Result<std::unique_ptr<Device>> Create(Env* env, const std::string& path,
                                                uint64_t size, uint32_t index, const Guid& guid,
                                                bool direct_io);
  // Opens a device of an existing pool and checks that its label matches the record.
  static Result<std::unique_ptr<Device>> Open(Env* env, const std::string& path,
                                              const DeviceRecord& record, const Guid& guid,
                                              bool direct_io);

  // Unit-addressed IO. Buffers must be aligned to kIoAlignment when direct_io() is true.
  Status Read(uint64_t unit, std::span<std::byte> out);
  Status Write(uint64_t unit, std::span<const std::byte> data);
  Status Sync() { return file_->Sync(); }

  File* file() { return file_.get(); }
  uint64_t size() const { return size_; }
  uint64_t units() const { return (size_ - kDeviceDataOffset) / kUnitSize; }
  bool direct_io() const { return direct_io_; }
  const std::string& path() const { return path_; }

  // Opens path for pool IO, falling back to buffered IO where O_DIRECT is unsupported.
  static Result<std::unique_ptr<File>> OpenForIo(Env* env, const std::string& path, bool create,
                                                 bool direct_io, bool* got_direct);

 private:
  Device(std::unique_ptr<File> file, std::string path, uint64_t size, bool direct_io)
      : file_(std::move(file)), path_(std::move(path)), size_(size), direct_io_(direct_io) {}
  Status CheckRange(uint64_t unit, size_t bytes) const;

  std::unique_ptr<File> file_;
  std::string path_;
  uint64_t size_;
  bool direct_io_;
};

inline constexpr uint64_t kMinDeviceSize = 16 << 20;

}  // namespace cstor::engine
