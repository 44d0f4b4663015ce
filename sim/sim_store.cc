#include "sim/sim_store.h"

#include <fmt/format.h>

#include <cstdlib>

#include "base/log.h"
#include "sim/checker.h"
#include "sim/sim_constants.h"

namespace cstor::sim {
namespace {

// With CSTOR_SIM_WATCH_BLOCK=N, every change to block N is logged (debugging aid).
uint64_t WatchedBlock() {
  static uint64_t b = std::getenv("CSTOR_SIM_WATCH_BLOCK")
                          ? std::strtoull(std::getenv("CSTOR_SIM_WATCH_BLOCK"), nullptr, 10)
                          : UINT64_MAX;
  return b;
}

}  // namespace

#define WATCH(block, ...)                                                        \
  do {                                                                           \
    if ((block) == WatchedBlock()) CSTOR_LOG_INFO("{}: " __VA_ARGS__);            \
  } while (0)

SimStore::SimStore(SimWorld* world, std::string name, uint64_t size, uint32_t block_size)
    : SimDisk(world, std::move(name), block_size), size_(size), durable_size_(size) {
  // The store owns the commit loop; queued copies hold it weakly, so nothing leaks.
  commit_loop_ = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak = commit_loop_;
  *commit_loop_ = [this, weak] {
    auto self = weak.lock();
    if (!self || commit_hi_ == 0) return;
    if (alive_ && !fenced_) Commit();
    world_->After(world_->rng().Range(commit_lo_, commit_hi_), *self);
  };
}

void SimStore::SetBackgroundCommit(uint64_t lo, uint64_t hi) {
  bool was_on = commit_hi_ != 0;
  commit_lo_ = lo;
  commit_hi_ = hi;
  if (!was_on && hi != 0) world_->After(world_->rng().Range(lo, hi), *commit_loop_);
}

Status SimStore::CheckRange(uint64_t offset, uint64_t length) const {
  if (offset % bs_ != 0 || length % bs_ != 0) {
    return Status::InvalidArgument(fmt::format("{}: IO [{}, +{}) is not whole blocks", name_,
                                               offset, length));
  }
  if (offset + length > size_) return Status::OutOfRange(fmt::format("{}: past the end", name_));
  return Status::Ok();
}

// A write or unmap that fails: as in the engine, the checkpoint may no longer pass it.
void SimStore::FailIo(uint64_t io_seq, Status s, Done done) {
  Later([this, io_seq, done, s] {
    inflight_.erase(inflight_.find(io_seq));
    failed_cap_ = std::min(failed_cap_, io_seq - 1);
    done(s);
  });
}

uint64_t SimStore::CheckpointCandidate() const {
  uint64_t c = max_applied_;
  if (!inflight_.empty()) c = std::min(c, *inflight_.begin() - 1);
  if (hold_) c = std::min(c, *hold_);
  return std::min(c, failed_cap_);
}

void SimStore::Received(uint64_t block, const std::string& data) {
  Checker::WritesIn(block * bs_ / kSector, data, volatile_writes_[block]);
}

std::set<uint64_t> SimStore::HeldWrites() const {
  std::set<uint64_t> out;
  for (const auto& [b, blk] : live_) Checker::WritesIn(b * bs_ / kSector, blk.data, out);
  for (const auto& [b, ids] : volatile_writes_) out.insert(ids.begin(), ids.end());
  return out;
}

void SimStore::Commit() {
  volatile_writes_.clear();
  durable_ = live_;
  durable_size_ = size_;
  checkpoint_ = std::max(checkpoint_, CheckpointCandidate());
  durable_max_ = std::max(durable_max_, max_applied_);
}

void SimStore::Crash() {
  Restarted();  // operations in flight never complete
  // Flushed data survives; of the rest, the engine may or may not have committed each block.
  std::map<uint64_t, Block> after = durable_;
  for (const auto& [b, blk] : live_) {
    auto d = durable_.find(b);
    if ((d == durable_.end() || !(d->second == blk)) && world_->rng().OneIn(2)) after[b] = blk;
  }
  for (const auto& [b, blk] : durable_) {
    if (!live_.contains(b) && world_->rng().OneIn(2)) after.erase(b);  // a removal landed
  }
  // A block's writes since the last commit are gone unless the block was kept as it was.
  std::set<uint64_t> lost;
  for (const auto& [b, ids] : volatile_writes_) {
    auto l = live_.find(b), a = after.find(b);
    bool kept = l != live_.end() && a != after.end() && a->second == l->second;
    if (!kept) lost.insert(ids.begin(), ids.end());
  }
  volatile_writes_.clear();
  live_ = after;
  durable_ = after;
  size_ = durable_size_;
  for (const auto& [b, blk] : live_) durable_max_ = std::max(durable_max_, blk.io_seq);
  // As in the engine: only the checkpoint vouches for what survived; it advances only over
  // writes applied from now on.
  max_applied_ = checkpoint_;
  inflight_.clear();
  hold_.reset();
  failed_cap_ = UINT64_MAX;
  streams_.clear();
  if (on_lost_ && !lost.empty()) on_lost_(lost);
}

bool SimStore::Corrupt(uint64_t block) {
  corrupt_.insert(block);
  return true;
}

void SimStore::FillForeign(uint64_t io_seq_base) {
  for (uint64_t b = 0; b < size_ / bs_; b++) {
    std::string data(bs_, '\0');
    for (auto& c : data) c = static_cast<char>(world_->rng().Next() | 1);
    live_[b] = Block{io_seq_base + b, false, std::move(data)};
  }
  durable_ = live_;
  volatile_writes_.clear();
  checkpoint_ = max_applied_ = durable_max_ = io_seq_base + size_ / bs_;
}

const std::map<uint64_t, SimStore::Block>* SimStore::snapshot(const std::string& name) const {
  for (const auto& s : snapshots_) {
    if (s.name == name) return &s.blocks;
  }
  return nullptr;
}

std::optional<SimDisk::Block> SimStore::Look(uint64_t block, const std::string& snapshot) const {
  const auto* view = View(snapshot);
  if (view == nullptr) return std::nullopt;
  auto it = view->find(block);
  if (it == view->end()) return std::nullopt;
  return it->second;
}

const std::map<uint64_t, SimStore::Block>* SimStore::View(const std::string& snapshot) const {
  return snapshot.empty() ? &live_ : this->snapshot(snapshot);
}

wire::BlockVersion SimStore::VersionOf(const std::map<uint64_t, Block>& blocks,
                                       uint64_t block) const {
  wire::BlockVersion v;
  v.block = block;
  auto it = blocks.find(block);
  if (it == blocks.end()) {
    v.flags = wire::BlockVersion::kAbsent;
    return v;
  }
  v.io_seq = it->second.io_seq;
  if (it->second.unmapped) {
    v.flags = wire::BlockVersion::kUnmapped;
  } else if (&blocks == &live_ && corrupt_.contains(block)) {
    v.flags = wire::BlockVersion::kCorrupt;
  } else {
    v.data = it->second.data;
  }
  return v;
}

replica::ReplicaStore::Info SimStore::GetInfo() {
  Info info;
  info.size = size_;
  info.block_size = bs_;
  info.checkpoint_io_seq = checkpoint_;
  info.max_io_seq = std::max(max_applied_, durable_max_);
  for (const auto& [b, blk] : live_) {
    info.max_io_seq = std::max(info.max_io_seq, blk.io_seq);
    info.allocated_bytes += blk.unmapped ? 0 : bs_;
  }
  for (const auto& s : snapshots_) info.snapshots.push_back({s.name, s.io_seq});
  info.snapshot_epoch = snapshot_epoch_;
  return info;
}

void SimStore::Write(uint64_t offset, std::string data, uint64_t io_seq, Done done) {
  if (Status s = CheckRange(offset, data.size()); !s.ok()) return FailIo(io_seq, s, done);
  if (fenced_) return FailIo(io_seq, Fenced(), done);
  if (write_errors_) return FailIo(io_seq, Status::IoError(name_ + ": write failed (EIO)"), done);
  Later([this, offset, data = std::move(data), io_seq, done] {
    for (uint64_t i = 0; i < data.size() / bs_; i++) {
      uint64_t b = offset / bs_ + i;
      auto it = live_.find(b);
      if (it != live_.end() && it->second.io_seq >= io_seq) {
        WATCH(b, "block {} keeps io_seq {} over write {}", name_, b, it->second.io_seq, io_seq);
        continue;  // newer wins
      }
      WATCH(b, "block {} written io_seq {}", name_, b, io_seq);
      live_[b] = Block{io_seq, false, data.substr(i * bs_, bs_)};
      Received(b, live_[b].data);
      corrupt_.erase(b);
    }
    inflight_.erase(inflight_.find(io_seq));
    max_applied_ = std::max(max_applied_, io_seq);
    done(Status::Ok());
  });
}

void SimStore::Unmap(uint64_t offset, uint64_t length, uint64_t io_seq, Done done) {
  if (Status s = CheckRange(offset, length); !s.ok()) return FailIo(io_seq, s, done);
  if (fenced_) return FailIo(io_seq, Fenced(), done);
  if (write_errors_) return FailIo(io_seq, Status::IoError(name_ + ": unmap failed (EIO)"), done);
  Later([this, offset, length, io_seq, done] {
    for (uint64_t b = offset / bs_; b < (offset + length) / bs_; b++) {
      auto it = live_.find(b);
      WATCH(b, "block {} unmap io_seq {} (has {})", name_, b, io_seq,
            it == live_.end() ? 0 : it->second.io_seq);
      if (it == live_.end() || it->second.io_seq >= io_seq) continue;
      it->second = Block{io_seq, true, ""};
      corrupt_.erase(b);
    }
    inflight_.erase(inflight_.find(io_seq));
    max_applied_ = std::max(max_applied_, io_seq);
    done(Status::Ok());
  });
}

void SimStore::Read(uint64_t offset, uint32_t length, DoneWith<std::string> done) {
  if (Status s = CheckRange(offset, length); !s.ok()) return Later([done, s] { done(s); });
  if (fenced_) return Later([this, done] { done(Fenced()); });
  LaterRead([this, offset, length, done] {
    std::string out;
    for (uint64_t b = offset / bs_; b < (offset + length) / bs_; b++) {
      WATCH(b, "block {} read: io_seq {}", name_, b, live_.contains(b) ? live_.at(b).io_seq : 0);
      if (corrupt_.contains(b)) {
        return done(Status::Corruption(fmt::format("{}: checksum mismatch in block {}", name_, b)));
      }
      out += ReadDirect(b);
    }
    done(std::move(out));
  });
}

void SimStore::Flush(DoneWith<uint64_t> done) {
  Sync([this] { Commit(); },
       [this, done](Status s) { s.ok() ? done(checkpoint_) : done(std::move(s)); });
}

void SimStore::CreateSnapshot(std::string name, uint64_t io_seq, Done done) {
  Later([this, name, io_seq, done] {
    if (fenced_) return done(Fenced());
    if (write_errors_) return done(Status::IoError(name_ + ": snapshot failed (EIO)"));
    if (snapshot(name)) return done(Status::AlreadyExists("snapshot " + name + " exists"));
    Commit();
    snapshots_.push_back(Snapshot{name, io_seq, size_, live_});
    CSTOR_LOG_DEBUG("{}: snapshot {} created at io_seq {}", name_, name, io_seq);
    done(Status::Ok());
  });
}

void SimStore::DeleteSnapshot(std::string name, Done done) {
  Later([this, name, done] {
    if (fenced_) return done(Fenced());
    size_t before = snapshots_.size();
    std::erase_if(snapshots_, [&](const Snapshot& s) { return s.name == name; });
    CSTOR_LOG_DEBUG("{}: snapshot {} deleted", name_, name);
    done(snapshots_.size() < before ? Status::Ok() : Status::NotFound("no snapshot " + name));
  });
}

void SimStore::ListSnapshots(DoneWith<std::vector<wire::SnapshotEntry>> done) {
  Later([this, done] {
    if (fenced_) return done(Fenced());
    std::vector<wire::SnapshotEntry> out;
    for (const auto& s : snapshots_) out.push_back({s.name, s.io_seq, s.size, 0, 0});
    done(std::move(out));
  });
}

void SimStore::SetSnapshotEpoch(uint64_t epoch, Done done) {
  Later([this, epoch, done] {
    if (fenced_) return done(Fenced());
    CSTOR_LOG_DEBUG("{}: snapshot epoch {}", name_, epoch);
    snapshot_epoch_ = epoch;
    done(Status::Ok());
  });
}

void SimStore::Resize(uint64_t size, Done done) {
  Later([this, size, done] {
    if (fenced_) return done(Fenced());
    if (size < size_) return done(Status::InvalidArgument("cannot shrink"));
    size_ = durable_size_ = size;
    done(Status::Ok());
  });
}

void SimStore::OpenStream(uint64_t since, std::string snapshot, uint64_t start_block,
                          uint64_t below, DoneWith<wire::StreamOpened> done) {
  Later([this, since, snapshot, start_block, below, done] {
    if (fenced_) return done(Fenced());
    const auto* view = View(snapshot);
    if (view == nullptr) return done(Status::NotFound("no snapshot " + snapshot));
    Stream s;
    s.snapshot = snapshot;
    s.since = since;
    s.below = below;
    for (const auto& [b, blk] : *view) {
      if (b >= start_block && blk.io_seq > since) s.blocks.push_back(b);
    }
    uint64_t id = next_stream_++;
    streams_[id] = std::move(s);
    done(wire::StreamOpened{id, size_ / bs_});
  });
}

void SimStore::NextBatch(uint64_t stream_id, uint32_t max_blocks, DoneWith<wire::StreamBatch> done) {
  Later([this, stream_id, max_blocks, done] {
    if (fenced_) return done(Fenced());
    auto it = streams_.find(stream_id);
    if (it == streams_.end()) return done(Status::NotFound("no such stream"));
    Stream& s = it->second;
    const auto* view = View(s.snapshot);
    if (view == nullptr) return done(Status::NotFound("snapshot " + s.snapshot + " was deleted"));
    wire::StreamBatch batch;
    while (s.next < s.blocks.size() && batch.blocks.size() < max_blocks) {
      wire::BlockVersion v = VersionOf(*view, s.blocks[s.next++]);
      if (v.io_seq > s.since && v.io_seq < s.below) batch.blocks.push_back(std::move(v));
    }
    batch.done = s.next >= s.blocks.size();
    batch.scanned_blocks = batch.done ? size_ / bs_ : s.blocks[s.next];
    done(std::move(batch));
  });
}

void SimStore::CloseStream(uint64_t stream_id) { streams_.erase(stream_id); }

void SimStore::ReadVersions(std::string snapshot, std::vector<uint64_t> blocks,
                            DoneWith<std::vector<wire::BlockVersion>> done) {
  Later([this, snapshot, blocks, done] {
    if (fenced_) return done(Fenced());
    const auto* view = View(snapshot);
    if (view == nullptr) return done(Status::NotFound("no snapshot " + snapshot));
    std::vector<wire::BlockVersion> out;
    for (uint64_t b : blocks) out.push_back(VersionOf(*view, b));
    done(std::move(out));
  });
}

void SimStore::ApplyVersion(wire::BlockVersion v, uint64_t keep_at, Done done) {
  Later([this, v = std::move(v), keep_at, done] {
    if (fenced_) return done(Fenced());
    if (write_errors_) return done(Status::IoError(name_ + ": rebuild write failed (EIO)"));
    auto it = live_.find(v.block);
    WATCH(v.block, "block {} rebuild apply io_seq {} keep_at {} (has {})", name_, v.block,
          v.io_seq, keep_at, it == live_.end() ? 0 : it->second.io_seq);
    if (it != live_.end() && it->second.io_seq >= keep_at) return done(Status::Ok());
    if (v.flags & wire::BlockVersion::kAbsent) {
      live_.erase(v.block);
    } else if (v.flags & wire::BlockVersion::kUnmapped) {
      live_[v.block] = Block{v.io_seq, true, ""};
    } else {
      if (v.data.size() != bs_) return done(Status::InvalidArgument("block of the wrong size"));
      live_[v.block] = Block{v.io_seq, false, v.data};
      Received(v.block, v.data);
    }
    corrupt_.erase(v.block);
    done(Status::Ok());
  });
}

void SimStore::ChangedBetween(uint64_t above, uint64_t below, DoneWith<std::vector<uint64_t>> done) {
  Later([this, above, below, done] {
    if (fenced_) return done(Fenced());
    std::vector<uint64_t> out;
    for (const auto& [b, blk] : live_) {
      if (blk.io_seq > above && blk.io_seq < below) out.push_back(b);
    }
    done(std::move(out));
  });
}

void SimStore::HoldCheckpoint(std::optional<uint64_t> at) {
  hold_ = at;
  if (!at) failed_cap_ = UINT64_MAX;
}

}  // namespace cstor::sim
