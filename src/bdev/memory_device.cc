#include "bdev/memory_device.h"

#include <algorithm>
#include <cstring>

namespace cstor::bdev {

MemoryDevice::MemoryDevice(uint64_t size, std::string serial)
    : size_(size), serial_(std::move(serial)) {}

DeviceInfo MemoryDevice::Info() const { return {CurrentSize(), 4096, true, serial_}; }

Status MemoryDevice::Grow(uint64_t new_size) {
  if (new_size % kSectorSize != 0 || new_size < CurrentSize()) {
    return Status::InvalidArgument("a memory device grows by whole sectors and never shrinks");
  }
  size_.store(new_size, std::memory_order_release);  // pages are allocated on first write
  return Status::Ok();
}

void MemoryDevice::Read(uint64_t offset, uint32_t length, ReadDone done) {
  std::string out(length, '\0');
  {
    MutexLock lock(&mu_);
    for (uint64_t pos = offset; pos < offset + length;) {
      uint64_t page = pos / kPage, in = pos % kPage;
      uint64_t n = std::min<uint64_t>(kPage - in, offset + length - pos);
      auto it = pages_.find(page);
      if (it != pages_.end()) std::memcpy(out.data() + (pos - offset), it->second.data.get() + in, n);
      pos += n;
    }
  }
  done(std::move(out));
}

void MemoryDevice::Write(uint64_t offset, std::string data, bool, Done done) {
  {
    MutexLock lock(&mu_);
    for (uint64_t pos = offset; pos < offset + data.size();) {
      uint64_t page = pos / kPage, in = pos % kPage;
      uint64_t n = std::min<uint64_t>(kPage - in, offset + data.size() - pos);
      Page& p = pages_[page];
      if (!p.data) {
        p.data = std::make_unique<char[]>(kPage);
        std::memset(p.data.get(), 0, kPage);
      }
      std::memcpy(p.data.get() + in, data.data() + (pos - offset), n);
      p.live |= SectorBits(in, in + n);
      pos += n;
    }
  }
  done(Status::Ok());
}

void MemoryDevice::Unmap(uint64_t offset, uint64_t length, Done done) {
  {
    MutexLock lock(&mu_);
    for (uint64_t pos = offset; pos < offset + length;) {
      uint64_t page = pos / kPage, in = pos % kPage;
      uint64_t n = std::min<uint64_t>(kPage - in, offset + length - pos);
      auto it = pages_.find(page);
      if (it != pages_.end()) {
        Page& p = it->second;
        p.live &= static_cast<uint8_t>(~SectorBits(in, in + n));
        if (p.live == 0) {
          pages_.erase(it);
        } else {
          std::memset(p.data.get() + in, 0, n);
        }
      }
      pos += n;
    }
  }
  done(Status::Ok());
}

void MemoryDevice::GetAllocation(uint64_t offset, uint64_t length, AllocationDone done) {
  std::vector<Extent> out;
  auto add = [&](uint64_t from, uint64_t to, bool mapped) {
    if (from >= to) return;
    if (!out.empty() && out.back().mapped == mapped) {
      out.back().length += to - from;
    } else {
      out.push_back({from, to - from, mapped});
    }
  };
  {
    MutexLock lock(&mu_);
    const uint64_t end = offset + length;
    uint64_t pos = offset;
    // Jump from one allocated page to the next: the gaps between are holes; within a page,
    // each sector is mapped or not by its bit.
    for (auto it = pages_.lower_bound(offset / kPage); it != pages_.end() && pos < end; ++it) {
      const uint64_t base = it->first * kPage;
      if (base >= end) break;
      add(pos, std::max(pos, base), false);
      for (uint64_t i = 0; i < kSectorsPerPage; i++) {
        const uint64_t from = std::max(base + i * kSectorSize, pos);
        const uint64_t to = std::min(base + (i + 1) * kSectorSize, end);
        if (from < to) add(from, to, (it->second.live >> i) & 1);
      }
      pos = std::max(pos, std::min(base + kPage, end));
    }
    add(pos, end, false);
  }
  done(std::move(out));
}

uint8_t MemoryDevice::SectorBits(uint64_t from, uint64_t to) {
  // Offsets are multiples of the sector size (the BlockDevice contract).
  uint8_t bits = 0;
  for (uint64_t i = from / kSectorSize; i < (to + kSectorSize - 1) / kSectorSize; i++) {
    bits |= static_cast<uint8_t>(1u << i);
  }
  return bits;
}

size_t MemoryDevice::allocated_pages() const {
  MutexLock lock(&mu_);
  return pages_.size();
}

}  // namespace cstor::bdev
