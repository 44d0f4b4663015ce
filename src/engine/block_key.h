// BlockKey: (volume id, logical block number), the address of a live block-map entry.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace cstor::engine {

struct BlockKey {
  uint64_t volume = 0;
  uint64_t lba = 0;
  friend auto operator<=>(const BlockKey&, const BlockKey&) = default;
};

struct BlockKeyHash {
  size_t operator()(const BlockKey& k) const {
    uint64_t h = k.volume * 0x9e3779b97f4a7c15ULL ^ k.lba;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return static_cast<size_t>(h);
  }
};

}  // namespace cstor::engine
