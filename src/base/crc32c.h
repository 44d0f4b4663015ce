// CRC-32C (Castagnoli), the checksum of iSCSI digests, our wire frames and every stored
// block. Hardware-accelerated through Intel ISA-L. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace cstor::crc32c {

// Returns the CRC-32C of data appended to a stream whose CRC so far is `crc`.
uint32_t Extend(uint32_t crc, const void* data, size_t n);

inline uint32_t Value(const void* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::span<const std::byte> data) { return Value(data.data(), data.size()); }

}  // namespace cstor::crc32c
