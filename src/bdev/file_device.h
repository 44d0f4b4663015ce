// FileDevice: a block device on a file or a host block device, through Env, with blocking
// IO on a bounded pool of worker threads. Small reads the page cache holds, and small
// writes without FUA (into the page cache), run on the caller's thread. A missing file is created sparse at the size
// asked for; unmap punches holes where the file system can.
//
// Thread-safety: every method may be called from any thread; callbacks run on a worker,
// or before the call returns for the reads and writes done on the caller's thread.
#pragma once

#include <asio/thread_pool.hpp>
#include <atomic>
#include <memory>

#include "bdev/block_device.h"
#include "env/env.h"

namespace cstor::bdev {

struct FileDeviceOptions {
  std::string path;
  uint64_t size = 0;  // 0: the file's size (it must exist); else created or grown to this
  uint32_t threads = 8;
  std::string serial;  // empty: derived from the path
  Env* env = Env::Default();
};

class FileDevice final : public BlockDevice {
 public:
  static Result<std::unique_ptr<FileDevice>> Open(FileDeviceOptions options);
  ~FileDevice() override;  // waits for IO in progress

  DeviceInfo Info() const override;
  uint64_t CurrentSize() const override { return size_.load(std::memory_order_acquire); }
  // Online resize: a file is extended (sparse) to new_size; a block device must already
  // hold it (grown underneath). Refuses to shrink and sizes that are not whole sectors.
  Status Grow(uint64_t new_size);
  void Read(uint64_t offset, uint32_t length, ReadDone done) override;
  void Write(uint64_t offset, std::string data, bool fua, Done done) override;
  void Unmap(uint64_t offset, uint64_t length, Done done) override;
  void Flush(Done done) override;

 private:
  static constexpr uint32_t kInlineReadMax = 128 * 1024;
  static constexpr uint32_t kInlineWriteMax = 64 * 1024;
  FileDevice(std::unique_ptr<File> file, DeviceInfo info, bool block_device, uint32_t threads);
  std::unique_ptr<File> file_;
  const DeviceInfo info_;  // all but the size
  const bool block_device_;
  std::atomic<uint64_t> size_;
  asio::thread_pool pool_;
};

}  // namespace cstor::bdev
