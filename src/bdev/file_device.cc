#include "bdev/file_device.h"

#include <asio/post.hpp>
#include <fmt/format.h>

#include "base/crc32c.h"

namespace cstor::bdev {

Result<std::unique_ptr<FileDevice>> FileDevice::Open(FileDeviceOptions o) {
  if (o.size % kSectorSize != 0) {
    return Status::InvalidArgument(
        fmt::format("device size {} is not a multiple of {} bytes", o.size, kSectorSize));
  }
  CSTOR_ASSIGN_OR_RETURN(FileInfo st, o.env->Stat(o.path));
  if (!st.exists && o.size == 0) {
    return Status::NotFound(o.path + " does not exist (give a size to create it)");
  }
  CSTOR_ASSIGN_OR_RETURN(auto file, o.env->OpenFile(o.path, {.create = true}));
  CSTOR_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  if (o.size > size) {
    if (st.is_block_device) {
      return Status::InvalidArgument(
          fmt::format("{} holds {} bytes, less than the {} asked for", o.path, size, o.size));
    }
    CSTOR_RETURN_IF_ERROR(file->Truncate(o.size));  // sparse
    size = o.size;
  } else if (o.size != 0) {
    size = o.size;  // serve the first o.size bytes
  }
  size -= size % kSectorSize;
  if (size == 0) return Status::InvalidArgument(o.path + " is empty");
  DeviceInfo info;
  info.size = size;
  info.thin = true;
  info.serial = o.serial.empty()
                    ? fmt::format("{:08x}", crc32c::Value(o.path.data(), o.path.size()))
                    : o.serial;
  return std::unique_ptr<FileDevice>(new FileDevice(std::move(file), info, st.is_block_device,
                                                    std::max<uint32_t>(1, o.threads)));
}

FileDevice::FileDevice(std::unique_ptr<File> file, DeviceInfo info, bool block_device,
                       uint32_t threads)
    : file_(std::move(file)),
      info_(std::move(info)),
      block_device_(block_device),
      size_(info_.size),
      pool_(threads) {}

DeviceInfo FileDevice::Info() const {
  DeviceInfo info = info_;
  info.size = CurrentSize();
  return info;
}

Status FileDevice::Grow(uint64_t new_size) {
  if (new_size % kSectorSize != 0 || new_size < CurrentSize()) {
    return Status::InvalidArgument(fmt::format(
        "a file device grows by whole sectors and never shrinks ({} to {} bytes)", CurrentSize(),
        new_size));
  }
  CSTOR_ASSIGN_OR_RETURN(uint64_t have, file_->Size());
  if (have < new_size) {
    if (block_device_) {
      return Status::InvalidArgument(
          fmt::format("the block device holds {} bytes, less than {}", have, new_size));
    }
    CSTOR_RETURN_IF_ERROR(file_->Truncate(new_size));  // sparse
  }
  size_.store(new_size, std::memory_order_release);
  return Status::Ok();
}

FileDevice::~FileDevice() { pool_.join(); }

void FileDevice::Read(uint64_t offset, uint32_t length, ReadDone done) {
  // Small reads the page cache can answer are answered here, without two thread hand-offs;
  // the rest go to a worker, which may wait for the disk.
  if (length <= kInlineReadMax) {
    std::string out(length, '\0');
    if (file_->ReadCached(offset, std::as_writable_bytes(std::span(out.data(), length))) == length) {
      return done(std::move(out));
    }
  }
  asio::post(pool_, [this, offset, length, done = std::move(done)] {
    std::string out(length, '\0');
    Status s = file_->ReadExact(offset, std::as_writable_bytes(std::span(out.data(), length)));
    if (!s.ok()) return done(s);
    done(std::move(out));
  });
}

void FileDevice::Write(uint64_t offset, std::string data, bool fua, Done done) {
  // Small writes without FUA land in the page cache, which takes microseconds: done here
  // they save two thread hand-offs. When the kernel throttles dirty pages this blocks the
  // caller's loop, but that loop serves this one device, whose IO waits either way.
  if (!fua && data.size() <= kInlineWriteMax) {
    return done(file_->Write(offset, std::as_bytes(std::span(data.data(), data.size()))));
  }
  asio::post(pool_, [this, offset, data = std::move(data), fua, done = std::move(done)] {
    Status s = file_->Write(offset, std::as_bytes(std::span(data.data(), data.size())));
    if (s.ok() && fua) s = file_->Sync();
    done(s);
  });
}

void FileDevice::Unmap(uint64_t offset, uint64_t length, Done done) {
  asio::post(pool_, [this, offset, length, done = std::move(done)] {
    done(file_->Discard(offset, length));
  });
}

void FileDevice::Flush(Done done) {
  asio::post(pool_, [this, done = std::move(done)] { done(file_->Sync()); });
}

}  // namespace cstor::bdev
