#include "sim/engine_disk.h"

#include <fmt/format.h>


#include "base/log.h"
#include "sim/checker.h"
#include "sim/sim_constants.h"

namespace cstor::sim {
namespace {

constexpr const char* kPoolDir = "/pool";
constexpr const char* kVolumeName = "v";

}  // namespace

EngineDisk::EngineDisk(SimWorld* world, std::string name, uint64_t size, uint32_t block_size)
    : SimDisk(world, std::move(name), block_size), env_(world->rng().Next()), size_(size) {
  commit_loop_ = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak = commit_loop_;
  *commit_loop_ = [this, weak] {
    auto self = weak.lock();
    if (!self || commit_hi_ == 0) return;
    CommitNow();
    world_->After(world_->rng().Range(commit_lo_, commit_hi_), *self);
  };
  Open(/*create=*/true, size);
}

EngineDisk::~EngineDisk() {
  work_.clear();  // they hold the volume
  store_.reset();
  volume_.reset();
  pool_.reset();
}

engine::PoolOptions EngineDisk::Options() {
  engine::PoolOptions o;
  o.env = &env_;
  o.direct_io = false;
  o.ro_threshold_pct = 100;
  o.block_cache_bytes = 256 << 10;
  o.meta_cache_bytes = 1 << 20;
  o.meta_write_buffer_bytes = 4 << 20;  // no memtable flushes in the background
  o.max_epoch_blocks = 1 << 20;          // commits only when asked
  o.max_epoch_bytes = 1ull << 40;
  o.commit_interval_micros = uint64_t{1} << 50;
  return o;
}

void EngineDisk::Open(bool create, uint64_t size) {
  Result<std::unique_ptr<engine::Pool>> pool =
      create ? engine::Pool::Create(kPoolDir, {{"dev0.img", 16 << 20}}, Options())
             : engine::Pool::Open(kPoolDir, Options());
  if (!pool.ok()) {
    broken_ = fmt::format("{}: pool does not {}: {}", name_, create ? "create" : "reopen",
                          pool.status().ToString());
    return;
  }
  pool_ = std::move(*pool);
  auto volume = create ? pool_->CreateVolume(kVolumeName, size, bs_) : pool_->OpenVolume(kVolumeName);
  if (!volume.ok()) {
    broken_ = fmt::format("{}: volume does not open: {}", name_, volume.status().ToString());
    return;
  }
  volume_ = std::move(*volume);
  store_ = std::make_unique<replica::EngineStore>(
      volume_, [this](std::function<void()> fn) { Work(std::move(fn)); },
      [](std::function<void()> fn) { fn(); });
}

void EngineDisk::Work(std::function<void()> fn) {
  uint64_t id = next_work_++;
  work_[id] = std::move(fn);
  Later([this, id] {
    auto it = work_.find(id);
    if (it == work_.end()) return;
    auto call = std::move(it->second);
    work_.erase(it);
    call();
  });
}

std::optional<Status> EngineDisk::Refused() const {
  if (broken_) return Status::Internal(*broken_);
  if (fenced_) return Fenced();
  return std::nullopt;
}

void EngineDisk::Crash() {
  if (broken_) return;
  const std::vector<uint64_t> before = SectorWrites();
  Restarted();
  // The machine dies: the next write to the Env fails, and the pool goes without a clean
  // close. Power returns: what was not synced is kept, dropped or torn.
  work_.clear();
  store_.reset();
  volume_.reset();
  env_.CrashAfterOps(1);
  pool_.reset();
  Random dice(world_->rng().Next());
  env_.SimulatePowerCut(dice);
  Open(/*create=*/false, 0);
  if (broken_) {
    CSTOR_LOG_ERROR("{}", *broken_);
    return;
  }
  // A write is lost where a sector of it no longer holds it (a write may survive in one
  // block and not in another).
  std::set<uint64_t> lost;
  const std::vector<uint64_t> after = SectorWrites();
  for (size_t i = 0; i < before.size(); i++) {
    if (before[i] != 0 && (i >= after.size() || after[i] != before[i])) lost.insert(before[i]);
  }
  if (on_lost_ && !lost.empty()) on_lost_(lost);
}

void EngineDisk::SetBackgroundCommit(uint64_t lo, uint64_t hi) {
  bool was_on = commit_hi_ != 0;
  commit_lo_ = lo;
  commit_hi_ = hi;
  if (!was_on && hi != 0) world_->After(world_->rng().Range(lo, hi), *commit_loop_);
}

void EngineDisk::CommitNow() {
  if (alive_ && !fenced_ && volume_) (void)volume_->Flush();
}

std::optional<SimDisk::Block> EngineDisk::Look(uint64_t block, const std::string& snapshot) const {
  if (!volume_) return std::nullopt;
  auto v = volume_->ReadVersion(block, snapshot);
  if (!v.ok() || v->absent) return std::nullopt;
  if (v->unmapped) return Block{v->io_seq, true, ""};
  return Block{v->io_seq, false,
               std::string(reinterpret_cast<const char*>(v->data.data()), v->data.size())};
}

bool EngineDisk::HasSnapshot(const std::string& name) const {
  if (!volume_) return false;
  for (const auto& s : volume_->ListSnapshots(/*space=*/false)) {
    if (s.name == name) return true;
  }
  return false;
}

std::vector<uint64_t> EngineDisk::SectorWrites() const {
  std::vector<uint64_t> out;
  if (!volume_) return out;
  for (uint64_t b = 0; b < volume_->size() / bs_; b++) {
    auto blk = Look(b);
    for (uint64_t i = 0; i < bs_ / kSector; i++) {
      std::set<uint64_t> one;
      if (blk && !blk->unmapped) {
        Checker::WritesIn(b * bs_ / kSector + i,
                          std::string_view(blk->data).substr(i * kSector, kSector), one);
      }
      out.push_back(one.empty() ? 0 : *one.begin());
    }
  }
  return out;
}

std::set<uint64_t> EngineDisk::HeldWrites() const {
  // What it holds is what it reads: the engine's unsynced writes are as visible as its
  // synced ones until a power cut decides.
  std::set<uint64_t> out;
  if (!volume_) return out;
  for (uint64_t b = 0; b < volume_->size() / bs_; b++) {
    if (auto blk = Look(b); blk && !blk->unmapped) {
      Checker::WritesIn(b * bs_ / kSector, blk->data, out);
    }
  }
  return out;
}

// ---- ReplicaStore ----

replica::ReplicaStore::Info EngineDisk::GetInfo() {
  if (!store_) {
    Info info;
    info.size = size_;
    info.block_size = bs_;
    return info;
  }
  return store_->GetInfo();
}

Status EngineDisk::Health() {
  if (auto refused = Refused()) return *refused;
  return store_->Health();
}

void EngineDisk::AnnounceIo(uint64_t io_seq) {
  if (store_) store_->AnnounceIo(io_seq);
}

void EngineDisk::Write(uint64_t offset, std::string data, uint64_t io_seq, Done done) {
  if (auto refused = Refused()) return Later([done, s = *refused] { done(s); });
  store_->Write(offset, std::move(data), io_seq, std::move(done));
}

void EngineDisk::Read(uint64_t offset, uint32_t length, DoneWith<std::string> done) {
  if (auto refused = Refused()) return Later([done, s = *refused] { done(s); });
  LaterRead([this, offset, length, done] { store_->Read(offset, length, done); });
}

void EngineDisk::Unmap(uint64_t offset, uint64_t length, uint64_t io_seq, Done done) {
  if (auto refused = Refused()) return Later([done, s = *refused] { done(s); });
  store_->Unmap(offset, length, io_seq, std::move(done));
}

void EngineDisk::Flush(DoneWith<uint64_t> done) {
  if (auto refused = Refused()) return Later([done, s = *refused] { done(s); });
  // The sync's latency and its failure are the disk's; the commit is the engine's.
  Sync([] {}, [this, done](Status s) {
    if (!s.ok()) return done(std::move(s));
    store_->Flush(done);
  });
}

void EngineDisk::CreateSnapshot(std::string name, uint64_t io_seq, Done done) {
  if (auto refused = Refused()) return Later([done, s = *refused] { done(s); });
  store_->CreateSnapshot(std::move(name), io_seq, std::move(done));
}

void EngineDisk::DeleteSnapshot(std::string name, Done done) {
  if (auto refused = Refused()) return Later([done, s = *refused] { done(s); });
  store_->DeleteSnapshot(std::move(name), std::move(done));
}

void EngineDisk::ListSnapshots(DoneWith<std::vector<wire::SnapshotEntry>> done) {
  if (auto refused = Refused()) return Later([done, s = *refused] { done(s); });
  store_->ListSnapshots(std::move(done));
}

void EngineDisk::SetSnapshotEpoch(uint64_t epoch, Done done) {
  if (auto refused = Refused()) return Later([done, s = *refused] { done(s); });
  store_->SetSnapshotEpoch(epoch, std::move(done));
}

void EngineDisk::Resize(uint64_t size, Done done) {
  if (auto refused = Refused()) return Later([done, s = *refused] { done(s); });
  store_->Resize(size, std::move(done));
}

void EngineDisk::OpenStream(uint64_t since, std::string snapshot, uint64_t start_block,
                            uint64_t below, DoneWith<wire::StreamOpened> done) {
  if (auto refused = Refused()) return Later([done, s = *refused] { done(s); });
  store_->OpenStream(since, std::move(snapshot), start_block, below, std::move(done));
}

void EngineDisk::NextBatch(uint64_t stream_id, uint32_t max_blocks,
                           DoneWith<wire::StreamBatch> done) {
  if (auto refused = Refused()) return Later([done, s = *refused] { done(s); });
  LaterRead([this, stream_id, max_blocks, done] { store_->NextBatch(stream_id, max_blocks, done); });
}

void EngineDisk::CloseStream(uint64_t stream_id) {
  if (store_) store_->CloseStream(stream_id);
}

void EngineDisk::ReadVersions(std::string snapshot, std::vector<uint64_t> blocks,
                              DoneWith<std::vector<wire::BlockVersion>> done) {
  if (auto refused = Refused()) return Later([done, s = *refused] { done(s); });
  store_->ReadVersions(std::move(snapshot), std::move(blocks), std::move(done));
}

void EngineDisk::ApplyVersion(wire::BlockVersion version, uint64_t keep_at, Done done) {
  if (auto refused = Refused()) return Later([done, s = *refused] { done(s); });
  store_->ApplyVersion(std::move(version), keep_at, std::move(done));
}

void EngineDisk::ChangedBetween(uint64_t above, uint64_t below,
                                DoneWith<std::vector<uint64_t>> done) {
  if (auto refused = Refused()) return Later([done, s = *refused] { done(s); });
  store_->ChangedBetween(above, below, std::move(done));
}

void EngineDisk::HoldCheckpoint(std::optional<uint64_t> at) {
  if (store_) store_->HoldCheckpoint(at);
}

}  // namespace cstor::sim
