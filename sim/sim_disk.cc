#include "sim/sim_disk.h"

#include <fmt/format.h>

#include "base/log.h"

namespace cstor::sim {

void SimDisk::ClearFaults() {
  slow_lo_ = slow_hi_ = read_stall_ = 0;
  write_errors_ = fail_flush_ = false;
}

std::string SimDisk::ReadDirect(uint64_t block) const {
  auto b = Look(block);
  if (!b || b->unmapped) return std::string(bs_, '\0');
  return b->data;
}

void SimDisk::Later(std::function<void()> fn) {
  // Now and then an operation takes far longer than its neighbours (a disk's tail
  // latency), so that operations issued together complete in every order.
  uint64_t delay = slow_hi_ != 0          ? world_->rng().Range(slow_lo_, slow_hi_)
                   : world_->rng().OneIn(64) ? world_->rng().Range(1'000, 30'000)
                                             : world_->rng().Range(20, 300);
  uint64_t inc = incarnation_;
  world_->After(delay, [this, inc, fn = std::move(fn)] {
    if (alive_ && inc == incarnation_) fn();
  });
}

void SimDisk::LaterRead(std::function<void()> fn) {
  if (read_stall_ == 0) return Later(std::move(fn));
  // The read is answered, but only after the stall, with what the disk holds then.
  uint64_t inc = incarnation_;
  world_->After(read_stall_, [this, inc, fn = std::move(fn)] {
    if (alive_ && inc == incarnation_) fn();
  });
}

void SimDisk::Sync(std::function<void()> commit, std::function<void(Status)> done) {
  auto sync = [this, commit = std::move(commit), done = std::move(done)] {
    if (fenced_) return done(Fenced());
    if (fail_flush_) {
      // Like the engine after a failed fsync: nothing more is trusted or written.
      fenced_ = true;
      CSTOR_LOG_INFO("{}: fsync failed; the store is fenced", name_);
      if (on_fence_) on_fence_();
      return done(Status::IoError(name_ + ": fsync failed (EIO)"));
    }
    commit();
    done(Status::Ok());
  };
  if (flush_hi_ == 0) return Later(std::move(sync));
  // A disk whose syncs are slow.
  uint64_t inc = incarnation_;
  world_->After(world_->rng().Range(flush_lo_, flush_hi_), [this, inc, sync = std::move(sync)] {
    if (alive_ && inc == incarnation_) sync();
  });
}

Status SimDisk::Fenced() const {
  return Status::IoError(fmt::format("{}: the pool is fenced after a failed fsync", name_));
}

void SimDisk::Restarted() {
  incarnation_++;
  fenced_ = fail_flush_ = write_errors_ = false;
  read_stall_ = 0;
}

}  // namespace cstor::sim
