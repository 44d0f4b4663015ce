// StripeLocks: per-volume block locks, hashed onto a fixed set of reader-writer locks.
// A writer holds its blocks' stripes exclusively from reading the old versions until the
// new ones are applied; readers hold them shared while they look up and read data. This
// is what guarantees that space a reader is reading cannot be released under it.
//
// Stripes are always taken in index order, so overlapping requests cannot deadlock.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <span>

#include "base/mutex.h"

namespace cstor::engine {

class StripeLocks {
 public:
  static constexpr size_t kStripes = 256;

  class Guard {
   public:
    Guard(Guard&& o) noexcept : locks_(o.locks_), held_(o.held_), exclusive_(o.exclusive_) {
      o.locks_ = nullptr;
    }
    ~Guard() NO_THREAD_SAFETY_ANALYSIS {
      if (locks_ == nullptr) return;
      for (size_t i = 0; i < kStripes; i++) {
        if (!held_[i]) continue;
        if (exclusive_) {
          locks_->mu_[i].Unlock();
        } else {
          locks_->mu_[i].UnlockShared();
        }
      }
    }

   private:
    friend class StripeLocks;
    Guard(StripeLocks* locks, std::bitset<kStripes> held, bool exclusive)
        NO_THREAD_SAFETY_ANALYSIS : locks_(locks), held_(held), exclusive_(exclusive) {
      for (size_t i = 0; i < kStripes; i++) {
        if (!held_[i]) continue;
        if (exclusive_) {
          locks_->mu_[i].Lock();
        } else {
          locks_->mu_[i].LockShared();
        }
      }
    }
    StripeLocks* locks_;
    std::bitset<kStripes> held_;
    bool exclusive_;
  };

  // Locks the stripes of blocks [first, first + n).
  Guard Lock(uint64_t first, uint64_t n, bool exclusive) {
    std::bitset<kStripes> held;
    if (n >= kStripes) {
      held.set();
    } else {
      for (uint64_t i = 0; i < n; i++) held.set((first + i) % kStripes);
    }
    return Guard(this, held, exclusive);
  }
  // Locks the stripes of the given blocks.
  Guard Lock(std::span<const uint64_t> lbas, bool exclusive) {
    std::bitset<kStripes> held;
    for (uint64_t lba : lbas) held.set(lba % kStripes);
    return Guard(this, held, exclusive);
  }

 private:
  std::array<SharedMutex, kStripes> mu_;
};

}  // namespace cstor::engine
