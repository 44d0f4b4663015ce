#include "bdev/memory_device.h"

#include <algorithm>
#include <cstring>

namespace cstor::bdev {

MemoryDevice::MemoryDevice(uint64_t size, std::string serial)
    : size_(size), serial_(std::move(serial)) {}

DeviceInfo MemoryDevice::Info() const { return {size_, 4096, true, serial_}; }

void MemoryDevice::Read(uint64_t offset, uint32_t length, ReadDone done) {
  std::string out(length, '\0');
  {
    MutexLock lock(&mu_);
    for (uint64_t pos = offset; pos < offset + length;) {
      uint64_t page = pos / kPage, in = pos % kPage;
      uint64_t n = std::min<uint64_t>(kPage - in, offset + length - pos);
      auto it = pages_.find(page);
      if (it != pages_.end()) std::memcpy(out.data() + (pos - offset), it->second.get() + in, n);
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
      auto& p = pages_[page];
      if (!p) {
        p = std::make_unique<char[]>(kPage);
        std::memset(p.get(), 0, kPage);
      }
      std::memcpy(p.get() + in, data.data() + (pos - offset), n);
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
        if (n == kPage) {
          pages_.erase(it);
        } else {
          std::memset(it->second.get() + in, 0, n);
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
    // Jump from one allocated page to the next: the gaps between are holes.
    for (auto it = pages_.lower_bound(offset / kPage); it != pages_.end() && pos < end; ++it) {
      const uint64_t page_start = std::max(it->first * kPage, offset);
      if (page_start >= end) break;
      add(pos, page_start, false);
      const uint64_t page_end = std::min((it->first + 1) * kPage, end);
      add(std::max(pos, page_start), page_end, true);
      pos = std::max(pos, page_end);
    }
    add(pos, end, false);
  }
  done(std::move(out));
}

size_t MemoryDevice::allocated_pages() const {
  MutexLock lock(&mu_);
  return pages_.size();
}

}  // namespace cstor::bdev
