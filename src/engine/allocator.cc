#include "engine/allocator.h"

#include <fmt/format.h>

#include <bit>

#include "base/check.h"

namespace cstor::engine {

Allocator::Allocator(const std::vector<uint64_t>& units_per_device) {
  MutexLock l(&mu_);
  for (uint64_t units : units_per_device) {
    Device d;
    d.units = units;
    d.in_use.assign((units + 63) / 64, 0);
    d.persistent.assign((units + 63) / 64, 0);
    d.dirty.assign((units + kBitmapChunkUnits - 1) / kBitmapChunkUnits, false);
    // Bits past the end of the device are permanently in use, so searches never find them.
    for (uint64_t u = units; u < d.in_use.size() * 64; u++) {
      d.in_use[u / 64] |= uint64_t{1} << (u % 64);
    }
    devices_.push_back(std::move(d));
    total_units_ += units;
  }
}

void Allocator::SetRange(std::vector<uint64_t>& bits, uint64_t start, uint64_t n, bool value) {
  for (uint64_t i = start; i < start + n;) {
    uint64_t word = i / 64, bit = i % 64;
    uint64_t span = std::min<uint64_t>(64 - bit, start + n - i);
    uint64_t mask = (span == 64 ? ~uint64_t{0} : ((uint64_t{1} << span) - 1)) << bit;
    if (value) {
      bits[word] |= mask;
    } else {
      bits[word] &= ~mask;
    }
    i += span;
  }
}

void Allocator::CheckExtent(const Extent& e) {
  CSTOR_CHECK(e.device < devices_.size());
  CSTOR_CHECK(e.count > 0 && e.unit + e.count <= devices_[e.device].units);
}

Status Allocator::LoadChunk(uint32_t device, uint64_t chunk, std::string_view bits) {
  MutexLock l(&mu_);
  if (device >= devices_.size()) {
    return Status::Corruption(fmt::format("bitmap chunk for unknown device {}", device));
  }
  Device& d = devices_[device];
  if (bits.size() != kBitmapChunkUnits / 8 || chunk >= d.dirty.size()) {
    return Status::Corruption(fmt::format("bad bitmap chunk {} of device {}", chunk, device));
  }
  uint64_t first = chunk * kBitmapChunkUnits;
  for (uint64_t i = 0; i < kBitmapChunkUnits && first + i < d.units; i++) {
    bool set = (static_cast<uint8_t>(bits[i / 8]) >> (i % 8)) & 1;
    if (!set) continue;
    uint64_t u = first + i;
    if (!Test(d.persistent, u)) {
      d.persistent[u / 64] |= uint64_t{1} << (u % 64);
      d.in_use[u / 64] |= uint64_t{1} << (u % 64);
      d.persistent_used++;
      d.used++;
    }
  }
  return Status::Ok();
}

namespace {

// First clear bit at or after pos, or limit if there is none before it.
uint64_t NextClear(const std::vector<uint64_t>& bits, uint64_t pos, uint64_t limit) {
  while (pos < limit) {
    uint64_t inverted = ~bits[pos / 64] >> (pos % 64);
    if (inverted != 0) return std::min(limit, pos + std::countr_zero(inverted));
    pos = (pos / 64 + 1) * 64;
  }
  return limit;
}

// First set bit at or after pos, or limit if there is none before it.
uint64_t NextSet(const std::vector<uint64_t>& bits, uint64_t pos, uint64_t limit) {
  while (pos < limit) {
    uint64_t word = bits[pos / 64] >> (pos % 64);
    if (word != 0) return std::min(limit, pos + std::countr_zero(word));
    pos = (pos / 64 + 1) * 64;
  }
  return limit;
}

}  // namespace

uint64_t Allocator::FindRun(Device& d, uint64_t min_len, uint64_t max_len, uint64_t scan_limit,
                            uint64_t* start) {
  // First [cursor, end), then [0, cursor): next-fit keeps writes sequential on the device.
  uint64_t scanned = 0;
  for (int pass = 0; pass < 2; pass++) {
    uint64_t pos = pass == 0 ? d.cursor : 0;
    uint64_t end = pass == 0 ? d.units : d.cursor;
    uint64_t pass_start = pos;
    while (pos < end && scanned + (pos - pass_start) < scan_limit) {
      pos = NextClear(d.in_use, pos, end);
      if (pos >= end) break;
      uint64_t run_end = NextSet(d.in_use, pos, std::min(d.units, pos + max_len));
      if (run_end - pos >= min_len) {
        *start = pos;
        return run_end - pos;
      }
      pos = run_end;
    }
    scanned += pos - pass_start;
  }
  return 0;
}

Extent Allocator::Take(uint32_t dev, uint64_t start, uint64_t len) {
  Device& d = devices_[dev];
  SetRange(d.in_use, start, len, true);
  d.used += len;
  d.cursor = start + len >= d.units ? 0 : start + len;
  return {dev, start, len};
}

Result<std::vector<Extent>> Allocator::Allocate(uint64_t blocks, uint32_t units_per_block) {
  CSTOR_CHECK(blocks > 0 && units_per_block > 0);
  MutexLock l(&mu_);
  const uint64_t want = blocks * units_per_block;
  std::vector<Extent> out;
  uint64_t got = 0;
  const uint32_t first = next_device_;
  next_device_ = (next_device_ + 1) % devices_.size();
  // One run for the whole request, on any device, if a bounded search finds one.
  if (want > units_per_block) {
    for (size_t k = 0; k < devices_.size(); k++) {
      uint32_t dev = static_cast<uint32_t>((first + k) % devices_.size());
      uint64_t start = 0;
      if (FindRun(devices_[dev], want, want, kContiguousScanUnits, &start) == want) {
        return std::vector<Extent>{Take(dev, start, want)};
      }
    }
  }
  // Otherwise fill holes, each a multiple of the block.
  for (size_t k = 0; k < devices_.size() && got < want; k++) {
    uint32_t dev = static_cast<uint32_t>((first + k) % devices_.size());
    Device& d = devices_[dev];
    while (got < want && d.units - d.used >= units_per_block) {
      uint64_t start = 0;
      uint64_t len = FindRun(d, units_per_block, want - got, UINT64_MAX, &start);
      len -= len % units_per_block;
      if (len == 0) break;
      out.push_back(Take(dev, start, len));
      got += len;
    }
  }
  if (got < want) {
    for (const Extent& e : out) {
      SetRange(devices_[e.device].in_use, e.unit, e.count, false);
      devices_[e.device].used -= e.count;
    }
    uint64_t used = 0;
    for (auto& d : devices_) used += d.used;
    return Status::NoSpace(fmt::format(
        "no space: {} of {} allocation units free, {} needed in runs of {}",
        total_units_ - used, total_units_, want, units_per_block));
  }
  return out;
}

void Allocator::Release(const Extent& e) {
  MutexLock l(&mu_);
  CheckExtent(e);
  Device& d = devices_[e.device];
  for (uint64_t u = e.unit; u < e.unit + e.count; u++) {
    CSTOR_CHECK(Test(d.in_use, u));
    CSTOR_CHECK(!Test(d.persistent, u));  // never release what stored metadata still owns
  }
  SetRange(d.in_use, e.unit, e.count, false);
  d.used -= e.count;
}

void Allocator::SetPersistent(const Extent& e, bool allocated) {
  MutexLock l(&mu_);
  CheckExtent(e);
  Device& d = devices_[e.device];
  for (uint64_t u = e.unit; u < e.unit + e.count; u++) {
    CSTOR_CHECK(Test(d.persistent, u) != allocated);  // no double allocation or double free
    CSTOR_CHECK(Test(d.in_use, u));
  }
  SetRange(d.persistent, e.unit, e.count, allocated);
  if (allocated) {
    d.persistent_used += e.count;
  } else {
    d.persistent_used -= e.count;
  }
  for (uint64_t c = e.unit / kBitmapChunkUnits; c <= (e.unit + e.count - 1) / kBitmapChunkUnits;
       c++) {
    d.dirty[c] = true;
  }
}

std::vector<BitmapChunkImage> Allocator::TakeDirtyChunks() {
  MutexLock l(&mu_);
  std::vector<BitmapChunkImage> out;
  for (uint32_t dev = 0; dev < devices_.size(); dev++) {
    Device& d = devices_[dev];
    for (uint64_t c = 0; c < d.dirty.size(); c++) {
      if (!d.dirty[c]) continue;
      d.dirty[c] = false;
      std::string bits(kBitmapChunkUnits / 8, '\0');
      uint64_t first = c * kBitmapChunkUnits;
      for (uint64_t i = 0; i < kBitmapChunkUnits && first + i < d.units; i++) {
        if (Test(d.persistent, first + i)) bits[i / 8] |= static_cast<char>(1 << (i % 8));
      }
      out.push_back({dev, c, std::move(bits)});
    }
  }
  return out;
}

bool Allocator::PersistentIsSet(uint32_t device, uint64_t unit) {
  MutexLock l(&mu_);
  return device < devices_.size() && unit < devices_[device].units &&
         Test(devices_[device].persistent, unit);
}

void Allocator::ForEachPersistent(const std::function<void(uint32_t, uint64_t)>& fn) {
  MutexLock l(&mu_);
  for (uint32_t dev = 0; dev < devices_.size(); dev++) {
    const Device& d = devices_[dev];
    for (uint64_t w = 0; w < d.persistent.size(); w++) {
      for (uint64_t word = d.persistent[w]; word != 0; word &= word - 1) {
        fn(dev, w * 64 + std::countr_zero(word));
      }
    }
  }
}

uint64_t Allocator::used_units() {
  MutexLock l(&mu_);
  uint64_t n = 0;
  for (auto& d : devices_) n += d.used;
  return n;
}

uint64_t Allocator::persistent_used_units() {
  MutexLock l(&mu_);
  uint64_t n = 0;
  for (auto& d : devices_) n += d.persistent_used;
  return n;
}

}  // namespace cstor::engine
