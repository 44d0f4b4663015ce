#include "engine/device.h"

#include <fmt/format.h>

#include <cstring>

#include "base/aligned_buffer.h"
#include "base/log.h"
#include "base/units.h"

namespace cstor::engine {

Result<std::unique_ptr<File>> Device::OpenForIo(Env* env, const std::string& path, bool create,
                                                bool direct_io, bool* got_direct) {
  *got_direct = false;
  if (direct_io) {
    auto f = env->OpenFile(path, {.create = create, .direct_io = true});
    if (f.ok()) {
      *got_direct = true;
      return f;
    }
    if (!f.status().Is(Code::kInvalidArgument)) return f.status();
    CSTOR_LOG_WARN("{} does not support direct IO; using buffered IO", path);
  }
  return env->OpenFile(path, {.create = create});
}

Result<std::unique_ptr<Device>> Device::Create(Env* env, const std::string& path, uint64_t size,
                                               uint32_t index, const Guid& guid,
                                               bool direct_io) {
  CSTOR_ASSIGN_OR_RETURN(FileInfo info, env->Stat(path));
  if (info.exists && info.is_directory) {
    return Status::InvalidArgument(path + " is a directory, not a file or block device");
  }
  if (!info.exists && size == 0) {
    return Status::InvalidArgument(path + " does not exist; give a size to create it");
  }
  bool direct = false;
  CSTOR_ASSIGN_OR_RETURN(auto file, OpenForIo(env, path, /*create=*/true, direct_io, &direct));
  CSTOR_ASSIGN_OR_RETURN(uint64_t current, file->Size());
  AlignedBuffer label(kDeviceLabelSize);
  if (current >= kDeviceLabelSize) {
    CSTOR_RETURN_IF_ERROR(file->ReadExact(0, label.span()));
    auto existing = DecodeLabel({reinterpret_cast<char*>(label.data()), label.size()});
    if (existing.ok() && existing->pool_guid != guid) {
      return Status::AlreadyExists(fmt::format("{} already belongs to pool {}", path,
                                               GuidToString(existing->pool_guid)));
    }
  }
  if (size > current) {
    if (info.is_block_device) {
      return Status::InvalidArgument(fmt::format("{} is a block device of {}, smaller than {}",
                                                 path, FormatBytes(current), FormatBytes(size)));
    }
    CSTOR_RETURN_IF_ERROR(file->Truncate(size));  // sparse
    current = size;
  }
  if (current < kMinDeviceSize) {
    return Status::InvalidArgument(fmt::format("{} is {}; a pool device needs at least {}", path,
                                               FormatBytes(current), FormatBytes(kMinDeviceSize)));
  }
  std::string encoded = EncodeLabel({guid, index, current});
  std::memcpy(label.data(), encoded.data(), kDeviceLabelSize);
  CSTOR_RETURN_IF_ERROR(file->Write(0, label.span()));
  CSTOR_RETURN_IF_ERROR(file->Sync());
  return std::unique_ptr<Device>(new Device(std::move(file), path, current, direct));
}

Result<std::unique_ptr<Device>> Device::Open(Env* env, const std::string& path,
                                             const DeviceRecord& record, const Guid& guid,
                                             bool direct_io) {
  bool direct = false;
  auto opened = OpenForIo(env, path, /*create=*/false, direct_io, &direct);
  if (!opened.ok()) {
    return opened.status().WithContext(fmt::format("device {} of the pool", record.index));
  }
  std::unique_ptr<File> file = std::move(*opened);
  AlignedBuffer label(kDeviceLabelSize);
  CSTOR_RETURN_IF_ERROR(file->ReadExact(0, label.span()).WithContext("read label of " + path));
  auto decoded = DecodeLabel({reinterpret_cast<char*>(label.data()), label.size()});
  if (!decoded.ok()) return decoded.status().WithContext(path);
  if (decoded->pool_guid != guid || decoded->device_index != record.index) {
    return Status::FailedPrecondition(fmt::format(
        "{} carries the label of device {} of pool {}, expected device {} of pool {}", path,
        decoded->device_index, GuidToString(decoded->pool_guid), record.index,
        GuidToString(guid)));
  }
  CSTOR_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  if (size < record.size) {
    return Status::FailedPrecondition(fmt::format("{} shrank from {} to {}", path,
                                                  FormatBytes(record.size), FormatBytes(size)));
  }
  return std::unique_ptr<Device>(new Device(std::move(file), path, record.size, direct));
}

Status Device::CheckRange(uint64_t unit, size_t bytes) const {
  if (bytes % kUnitSize != 0 || unit + bytes / kUnitSize > units()) {
    return Status::Internal(fmt::format("IO of {} bytes at unit {} is outside {} ({} units)",
                                        bytes, unit, path_, units()));
  }
  return Status::Ok();
}

Status Device::Read(uint64_t unit, std::span<std::byte> out) {
  CSTOR_RETURN_IF_ERROR(CheckRange(unit, out.size()));
  return file_->ReadExact(kDeviceDataOffset + unit * kUnitSize, out);
}

Status Device::Write(uint64_t unit, std::span<const std::byte> data) {
  CSTOR_RETURN_IF_ERROR(CheckRange(unit, data.size()));
  return file_->Write(kDeviceDataOffset + unit * kUnitSize, data);
}

}  // namespace cstor::engine
