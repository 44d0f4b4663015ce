// Cluster: the client. It keeps up to a queue depth of IOs in flight — writes and unmaps
// of any sectors, reads (often of what it just wrote), flushes, snapshots and a resize —
// and holds the volume to its liveness promise: while a quorum of healthy replicas is up,
// reachable and well, IO succeeds.
#include <fmt/format.h>

#include <algorithm>

#include "sim/cluster.h"
#include "sim/sim_constants.h"

namespace cstor::sim {

void Cluster::WorkloadStep() {
  if (!load_) return;
  // A volume that is not serving refuses IO at once; a client retries a little later.
  const bool serving = target_ && !target_down_ &&
                       (target_->phase() == replication::Phase::kHealthy ||
                        target_->phase() == replication::Phase::kDegraded);
  if (!serving && !world_.rng().OneIn(10)) {
    world_.After(world_.rng().Range(20'000, 100'000), [this] { WorkloadStep(); });
    return;
  }
  // At most a queue's worth per step: IO refused at once completes inside IssueOp.
  for (uint32_t room = queue_depth_ - std::min(outstanding_, queue_depth_);
       room > 0 && !target_down_; room--) {
    IssueOp();
  }
  // Think time keeps a seed's event count (and run time) modest.
  world_.After(world_.rng().Range(500, 10000), [this] { WorkloadStep(); });
}

Cluster::IoContext Cluster::Context() const {
  IoContext ctx;
  ctx.issued = world_.now();
  ctx.target_life = target_life_;
  if (target_ && !target_down_) {
    for (const auto& r : target_->GetStatus().replicas) {
      if (r.mode == replication::ReplicaMode::kHealthy) ctx.healthy.push_back(r.id);
    }
  }
  return ctx;
}

std::vector<std::string> Cluster::Untouched(const IoContext& ctx) const {
  // Healthy when it was issued and untouched by any fault since.
  std::vector<std::string> out;
  const uint64_t now = world_.now();
  for (const auto& id : ctx.healthy) {
    for (const auto& r : replicas_) {
      if (r.id != id) continue;
      bool touched = std::any_of(r.impaired.begin(), r.impaired.end(), [&](const auto& w) {
        return w.first <= now && ctx.issued < w.second;
      });
      if (!touched) out.push_back(id);
    }
  }
  return out;
}

void Cluster::Finished(const char* what, const IoContext& ctx, const Status& s) {
  const uint64_t took = world_.now() - ctx.issued;
  // The longest a quorum of well replicas may take: a slow replica is dropped after the
  // target's slow-request bound, and an IO may wait behind one such (a partial-block write
  // behind its read, a snapshot's quiesce).
  const uint64_t slow_io = 2 * config_.timing.slow_request_micros + 2'000'000;
  if (s.ok() && took <= slow_io) return;
  const uint32_t cf = replication::ConsistencyFactor(config_.replication_factor);
  std::string cause;
  if (ctx.target_life != target_life_) {
    cause = "target restarted";
  } else if (ctx.healthy.size() < cf) {
    cause = "no quorum when issued";
  } else if (auto well = Untouched(ctx); well.size() >= cf) {
    std::string names;
    for (const auto& id : well) names += " " + id;
    cause = "LIVENESS";
    Fail(fmt::format("liveness: a {} issued at {:.6f}s {} after {:.3f} s although replicas{} "
                     "were healthy and untouched by faults throughout",
                     what, ctx.issued / 1e6, s.ok() ? "answered" : "failed (" + s.ToString() + ")",
                     took / 1e6, names));
  } else {
    cause = "a fault took the quorum";
  }
  if (!s.ok()) stats_.failed[cause]++;
}

void Cluster::IssueOp() {
  Random& rng = world_.rng();
  uint64_t kind = rng.Uniform(100);
  if (kind < 60) return IssueWrite(kind);
  if (kind < 88) {
    const uint64_t sectors = volume_bytes_ / kSector;
    uint64_t first = rng.Uniform(sectors);
    return IssueRead(first, std::min(rng.Range(1, 64), sectors - first));
  }
  IssueFlush();
}

void Cluster::IssueWrite(uint64_t kind) {
  Random& rng = world_.rng();
  const uint64_t sectors = volume_bytes_ / kSector;
  bool whole = rng.OneIn(3);  // a third of them whole blocks
  uint64_t first = rng.Uniform(sectors), count = rng.Range(1, 40);
  if (whole) {
    first = first / 8 * 8;
    count = (count + 7) / 8 * 8;
  }
  count = std::min(count, sectors - first);
  bool zeros = kind >= 54;  // an unmap
  uint64_t id = checker_.BeginWrite(world_.now(), first, count, zeros);
  IoContext ctx = Context();
  outstanding_++;
  stats_.writes++;
  auto done = [this, id, ctx, first, count](Status s) {
    outstanding_--;
    checker_.EndWrite(id, world_.now(), s.ok());
    Finished("write", ctx, s);
    if (!s.ok()) return;
    // Read it back now and then, while other replicas may still be applying it.
    if (load_ && world_.rng().OneIn(3) && !target_down_) IssueRead(first, count);
  };
  if (world_.rng().OneIn(150)) world_.After(world_.rng().Range(0, 2500), [this] { AimedFault(); });
  if (zeros) return target_->Unmap(first * kSector, count * kSector, done);
  target_->Write(first * kSector, checker_.Content(id, first, count), done);
}

void Cluster::IssueRead(uint64_t first, uint64_t count) {
  uint64_t now = world_.now();
  IoContext ctx = Context();
  outstanding_++;
  stats_.reads++;
  target_->Read(first * kSector, static_cast<uint32_t>(count * kSector),
                [this, now, first, ctx](Result<std::string> r) {
                  outstanding_--;
                  Finished("read", ctx, r.status());
                  if (!r.ok()) return;
                  if (auto bad = checker_.CheckRead(now, world_.now(), first, *r)) Fail(*bad);
                });
}

void Cluster::IssueFlush() {
  uint64_t now = world_.now();
  IoContext ctx = Context();
  outstanding_++;
  stats_.flushes++;
  if (world_.rng().OneIn(30)) world_.After(world_.rng().Range(0, 2500), [this] { AimedFault(); });
  target_->Flush([this, now, ctx](Status s) {
    outstanding_--;
    Finished("flush", ctx, s);
    if (!s.ok()) return;
    checker_.FlushSucceeded(now);
    // Now and then the power fails just after a flush is acknowledged: everything it
    // promised must survive, even if a replica answered before the work was on its disk.
    if (faults_on_ && world_.rng().OneIn(1500)) {
      world_.After(world_.rng().Range(0, 500), [this] {
        if (ImpairedNow() >= 1 && !world_.rng().OneIn(4)) return;
        Count("power loss after a flush");
        PowerLossNow(world_.rng().OneIn(2) ? &AnyReplica() : nullptr);
      });
    }
  });
}

void Cluster::SnapshotLoop() {
  // Snapshots come every few seconds, while faults last: often for a volume, and enough
  // to race with rebuilds, restarts and the client's writes.
  if (!faults_on_) return;
  world_.After(world_.rng().Range(500'000, 6'000'000), [this] { SnapshotLoop(); });
  if (target_down_ || target_->phase() == replication::Phase::kInit) return;
  IssueSnapshotOp();
}

void Cluster::IssueSnapshotOp() {
  uint64_t now = world_.now();
  outstanding_++;
  if (world_.rng().OneIn(3)) world_.After(world_.rng().Range(0, 3000), [this] { AimedFault(); });
  if (world_.rng().OneIn(2) || snaps_.empty()) {
    // Sometimes a replica's disk fails just as the snapshot is taken there: the snapshot
    // must then reach a quorum without it, or fail.
    if (world_.rng().OneIn(4)) FaultDiskErrors(AnyReplica());
    std::string name = fmt::format("snap-{}", next_snap_++);
    return target_->CreateSnapshot(name, [this, name, now](Status s) {
      outstanding_--;
      if (!s.ok()) return void(stats_.failed["snapshot create"]++);
      stats_.snapshots++;
      snaps_.push_back({name, now, world_.now()});
    });
  }
  std::string name = snaps_[world_.rng().Uniform(snaps_.size())].name;
  target_->DeleteSnapshot(name, [this, name](Status s) {
    outstanding_--;
    // Deleted, or — if the delete failed — maybe deleted: no longer checked either way.
    std::erase_if(snaps_, [&](const Snap& x) { return x.name == name; });
    Note(fmt::format("delete {}: {}", name, s.ToString()));
  });
}

void Cluster::MaybeResize() {
  if (!faults_on_) return;
  if (target_down_ || resize_running_) {
    world_.After(500'000, [this] { MaybeResize(); });
    return;
  }
  resize_running_ = true;
  uint64_t bigger = volume_bytes_ + 32 * kBlock;
  target_->Resize(bigger, [this, bigger](Status s) {
    resize_running_ = false;
    if (!s.ok()) {
      stats_.failed["resize"]++;
      return;
    }
    stats_.resizes++;
    volume_bytes_ = bigger;
    checker_.Grow(bigger / kSector);
  });
}

}  // namespace cstor::sim
