// ReplicatedVolume: bringing replicas into the quorum — reconciling after start-up, and
// rebuilding replicas that missed writes — and the volume's phase.
#include <fmt/format.h>

#include <algorithm>

#include "base/buggify.h"
#include "base/log.h"
#include "replication/replicated_volume.h"
#include "replication/replicated_volume_internal.h"

namespace cstor::replication {

uint64_t ReplicatedVolume::RetryDelay(uint32_t attempts) const {
  uint64_t d = config_.timing.rebuild_retry_micros;
  for (uint32_t i = 1; i < attempts && d < config_.timing.rebuild_retry_max_micros; i++) d *= 2;
  return std::min(d, config_.timing.rebuild_retry_max_micros);
}

void ReplicatedVolume::UpdatePhase() {
  uint32_t healthy = static_cast<uint32_t>(Healthy().size());
  Phase before = phase_;
  if (!started_) {
    phase_ = Phase::kInit;
  } else if (healthy >= config_.replication_factor) {
    phase_ = Phase::kHealthy;
  } else if (healthy >= cf()) {
    phase_ = Phase::kDegraded;
  } else {
    phase_ = Phase::kOffline;
  }
  if (phase_ != Phase::kInit) {
    phase_message_ = fmt::format("{} of {} replicas healthy, {} needed for quorum", healthy,
                                 config_.replication_factor, cf());
  }
  if (phase_ != before) {
    CSTOR_LOG_INFO("volume {}: {} ({})", config_.name, PhaseName(phase_), phase_message_);
  }
  if (phase_ == Phase::kOffline || phase_ == Phase::kInit) {
    // Reads waiting for a replica to catch up would wait forever.
    auto waiting = std::move(waiting_reads_);
    waiting_reads_.clear();
    for (auto& w : waiting) w->done(Serving(), 0);
  }
}

void ReplicatedVolume::MakeHealthy(Session& s) {
  if (!s.known) {
    if (config_.known_replicas.size() >= config_.replication_factor) {
      return Drop(s, Status::FailedPrecondition("the volume already has all its replicas"));
    }
    config_.known_replicas[s.replica()] = s.hello.replica_guid;
    s.known = true;
    CSTOR_LOG_INFO("volume {}: admitted replica {}", config_.name, s.replica());
    if (known_changed_) known_changed_(config_.known_replicas);
  }
  s.mode = ReplicaMode::kHealthy;
  s.live = true;
  // From here on it receives every write in order: its checkpoint may follow them.
  SendRequest(s, wire::Op::kHealthy, "", [](Status, const wire::Frame*) {});
  s.rebuild.reset();
  s.last_error.clear();
  rebuild_attempts_.erase(s.replica());
  rebuild_not_before_.erase(s.replica());
  CSTOR_LOG_INFO("volume {}: replica {} is healthy", config_.name, s.replica());
  UpdatePhase();
}

void ReplicatedVolume::Plan(uint64_t now) {
  if (Healthy().empty()) return Reconcile(now);
  // A plan carries the snapshot list; none goes out while the list is changing.
  if (snapshot_op_running_) return;
  // A rebuild whose live phase waits for its source to finish older writes.
  for (auto& [conn, s] : sessions_) {
    if (!s->rebuild || !s->rebuild->live || s->rebuild->sent) continue;
    Session* source = FindReplica(s->rebuild->source);
    if (source == nullptr || !source->healthy()) {
      s->rebuild.reset();
      s->live = false;
      s->mode = ReplicaMode::kDegraded;
      continue;
    }
    const uint64_t floor = s->live_floor;
    bool drained = std::none_of(source->pending.begin(), source->pending.end(), [&](auto& p) {
      return p.second.write && p.second.write->io_seq < floor;
    });
    if (drained) SendRebuildStart(*s, *source, /*live=*/true);
  }
  // One rebuild at a time keeps the healthy replicas serving.
  for (auto& [conn, s] : sessions_) {
    if (s->rebuild) return;
  }
  for (auto& [conn, s] : sessions_) {
    if (!s->active() || s->mode != ReplicaMode::kDegraded) continue;
    auto nb = rebuild_not_before_.find(s->replica());
    if (nb != rebuild_not_before_.end() && now < nb->second) continue;
    // The least busy healthy replica is the source.
    Session* source = nullptr;
    std::vector<Session*> healthy = Healthy();
    for (Session* h : healthy) {
      if (!source || h->pending.size() < source->pending.size()) source = h;
    }
    if (!healthy.empty() && CSTOR_BUGGIFY("replication.any_rebuild_source")) {
      source = healthy[buggify::Range(0, healthy.size() - 1)];
    }
    if (source == nullptr) return;
    return StartRebuild(*s, *source, now);
  }
}

void ReplicatedVolume::StartRebuild(Session& d, Session& source, uint64_t now) {
  if (d.hello.volume_size < size_) {
    // It missed a resize: grow it first.
    ConnId conn = d.conn;
    d.hello.volume_size = size_;
    SendRequest(d, wire::Op::kResize, wire::EncodePayload(wire::ResizeRequest{size_}),
                [this, conn](Status st, const wire::Frame*) {
                  if (st.ok()) return;
                  if (Session* s = FindSession(conn)) Drop(*s, st.WithContext("resize failed"));
                });
  }
  d.mode = ReplicaMode::kRebuilding;
  d.rebuild = RebuildState{};
  d.rebuild->source = source.replica();
  d.rebuild->started_micros = now;
  bool missing = std::any_of(snapshots_.begin(), snapshots_.end(),
                             [&](const auto& s) { return !d.HasSnapshot(s.name); });
  if (missing) {
    SendRebuildStart(d, source, /*live=*/false);  // snapshot catch-up needs no live writes
    return;
  }
  // Live phase: from the next write on, it receives every write; it may start copying once
  // the source has finished every older one.
  d.live = true;
  d.live_floor = next_io_seq_;
  d.rebuild->live = true;
  Plan(now);
}

void ReplicatedVolume::SendRebuildStart(Session& d, Session& source, bool live) {
  // Where the copy starts: what the replica held at its checkpoint — unless it lacks a
  // snapshot older than that, in which case from the newest snapshot both share before it.
  uint64_t since = d.rebuild_base;
  for (const auto& snap : snapshots_) {
    if (d.HasSnapshot(snap.name) || snap.io_seq > since) continue;
    uint64_t base = 0;
    for (const auto& common : snapshots_) {
      if (common.io_seq < snap.io_seq && d.HasSnapshot(common.name)) base = common.io_seq;
    }
    since = std::min(since, base);
  }
  wire::RebuildStart start;
  start.source_address = source.hello.rebuild_address;
  start.source_replica = source.replica();
  start.since = since;
  start.floor = live ? d.live_floor : 0;
  start.snapshots = snapshots_;
  start.snapshot_epoch = snapshot_epoch_;
  start.max_bytes_per_second = config_.timing.rebuild_bytes_per_second;
  d.rebuild->sent = true;
  d.rebuild->snapshot_epoch = snapshot_epoch_;
  ConnId conn = d.conn;
  CSTOR_LOG_INFO("volume {}: rebuilding replica {} from {} ({} phase, blocks newer than {})",
                 config_.name, d.replica(), source.replica(), live ? "live" : "snapshot", since);
  SendRequest(d, wire::Op::kRebuildStart, wire::EncodePayload(start),
              [this, conn](Status st, const wire::Frame* f) {
                Session* s = FindSession(conn);
                if (s == nullptr) return;
                if (f == nullptr) return;  // the session ended; EndSession counted it
                wire::Frame done = *f;
                done.status = st.code();
                HandleRebuildDone(*s, done);
              });
}

void ReplicatedVolume::HandleRebuildDone(Session& s, const wire::Frame& f) {
  auto done = wire::Decode<wire::RebuildDone>(f.payload);
  if (!done.ok()) return Drop(s, done.status());
  bool merge = s.rebuild && s.rebuild->merge;
  bool live = s.rebuild && s.rebuild->live;
  std::string source = s.rebuild ? s.rebuild->source : "";
  uint64_t plan_epoch = s.rebuild ? s.rebuild->snapshot_epoch : 0;
  s.rebuild.reset();
  s.snapshots = done->snapshots;
  s.checkpoint = std::max(s.checkpoint, done->checkpoint_io_seq);
  uint64_t now = transport_->NowMicros();
  if (f.status != Code::kOk) {
    uint32_t attempts = ++rebuild_attempts_[s.replica()];
    rebuild_not_before_[s.replica()] = now + RetryDelay(attempts);
    s.last_error = done->message;
    s.mode = ReplicaMode::kDegraded;
    s.live = false;
    CSTOR_LOG_WARN("volume {}: rebuild of {} from {} failed (attempt {}): {}", config_.name,
                   s.replica(), source, attempts, done->message);
    if (merge) merging_into_.reset();
    // Mend corrupt source blocks from another healthy copy before the next attempt.
    Session* src = FindReplica(source);
    for (uint64_t block : done->corrupt_blocks) {
      for (Session* h : Healthy()) {
        if (src != nullptr && h != src) {
          Repair(src->conn, h->conn, block, 1);
          break;
        }
      }
    }
    return;
  }
  counters_.rebuilds_completed += !merge;
  if (merge) {
    merged_from_.insert(source);
    s.mode = ReplicaMode::kDegraded;
    return Reconcile(now);
  }
  s.snapshot_epoch = plan_epoch;
  if (live) return DeleteStaleSnapshots(s);
  // Snapshots caught up: its live volume now matches the newest snapshot it recreated, and
  // the live phase copies what came after.
  s.rebuild_base = done->base_io_seq;
  s.mode = ReplicaMode::kDegraded;
  Plan(now);
}

void ReplicatedVolume::DeleteStaleSnapshots(Session& s) {
  // Snapshots taken while it was being rebuilt: it must catch up before it serves; ones
  // deleted meanwhile: it deletes them now.
  for (const auto& snap : snapshots_) {
    if (!s.HasSnapshot(snap.name)) {
      return Drop(s, Status::Aborted("snapshot " + snap.name + " was taken during its rebuild"));
    }
  }
  std::vector<std::string> stale;
  for (const auto& mine : s.snapshots) {
    bool wanted = std::any_of(snapshots_.begin(), snapshots_.end(),
                              [&](const auto& x) { return x.name == mine.name; });
    if (!wanted) stale.push_back(mine.name);
  }
  if (stale.empty()) {
    s.snapshot_epoch = snapshot_epoch_;
    return MakeHealthy(s);
  }
  // It serves only once they are gone: a replica that kept a deleted snapshot would
  // disagree with the others about the volume's snapshots from then on.
  struct Deletes {
    size_t waiting = 0;
    Status failed;
  };
  auto deletes = std::make_shared<Deletes>();
  deletes->waiting = stale.size();
  const ConnId conn = s.conn;
  const uint64_t session = s.id;
  for (const auto& name : stale) {
    SendRequest(s, wire::Op::kSnapshotDelete,
                wire::EncodePayload(wire::SnapshotDeleteRequest{name, snapshot_epoch_}),
                [this, deletes, conn, session, name](Status st, const wire::Frame*) {
                  if (!st.ok() && !st.Is(Code::kNotFound) && deletes->failed.ok()) {
                    deletes->failed = st.WithContext("delete snapshot " + name);
                  }
                  if (--deletes->waiting > 0) return;
                  Session* sess = FindSession(conn);
                  if (sess == nullptr || sess->id != session) return;
                  if (!deletes->failed.ok()) return Drop(*sess, deletes->failed);
                  std::erase_if(sess->snapshots, [&](const auto& mine) {
                    return std::none_of(snapshots_.begin(), snapshots_.end(),
                                        [&](const auto& x) { return x.name == mine.name; });
                  });
                  DeleteStaleSnapshots(*sess);  // again: the list may have changed meanwhile
                });
  }
}

void ReplicatedVolume::Reconcile(uint64_t now) {
  // No healthy replica: at start-up, or after every healthy one was lost. Wait for a quorum
  // of known replicas, then make one of them hold every write any of them holds.
  std::vector<Session*> present;
  for (auto& [conn, s] : sessions_) {
    if (s->active() && (s->known || config_.known_replicas.empty())) present.push_back(s.get());
  }
  if (merging_into_) {
    Session* primary = FindReplica(*merging_into_);
    if (primary == nullptr || primary->rebuild) return;  // gone (reset below) or merging
  }
  if (present.size() < cf()) {
    phase_message_ = fmt::format("waiting for replicas: {} of the {} needed are connected",
                                 present.size(), cf());
    merging_into_.reset();
    merged_from_.clear();
    quorum_present_since_ = 0;
    return;
  }
  // Every known replica takes part if it comes back in time: a write acknowledged by a
  // quorum that has since lost it (a crash before a flush) may live on only in the absent
  // one. Past the grace period, availability wins; docs/replication.md has the argument.
  if (!merging_into_ && present.size() < config_.known_replicas.size()) {
    if (quorum_present_since_ == 0) quorum_present_since_ = now;
    const uint64_t until = quorum_present_since_ + config_.timing.reconcile_grace_micros;
    if (now < until) {
      phase_message_ = fmt::format(
          "{} of {} replicas connected; waiting up to {} s more for the rest before serving",
          present.size(), config_.known_replicas.size(), (until - now + 999'999) / 1'000'000);
      return;
    }
  }
  bool fresh = std::all_of(present.begin(), present.end(), [](Session* s) {
    return s->max_io_seq == 0 && s->snapshots.empty();
  });
  uint64_t highest = 0;
  for (Session* s : present) {
    highest = std::max(highest, s->max_io_seq);
    // A resize that succeeded reached a quorum, so some present replica has its size.
    size_ = std::max(size_, s->hello.volume_size);
  }
  if (fresh && !started_) {
    next_io_seq_ = 1;
    started_ = true;
    std::vector<std::string> from;
    for (Session* s : present) {
      if (config_.known_replicas.size() < config_.replication_factor || s->known) {
        from.push_back(s->replica());
        MakeHealthy(*s);
      }
    }
    return Reconciled(std::move(from));
  }
  // The primary: the replica with the newest snapshot list (every acknowledged snapshot
  // change reached a quorum, and so at least one present replica), then the highest
  // checkpoint.
  Session* primary = nullptr;
  if (merging_into_) primary = FindReplica(*merging_into_);
  if (primary == nullptr) {
    primary = *std::max_element(present.begin(), present.end(), [](Session* a, Session* b) {
      return std::tuple(a->snapshot_epoch, a->checkpoint, a->max_io_seq) <
             std::tuple(b->snapshot_epoch, b->checkpoint, b->max_io_seq);
    });
    merging_into_ = primary->replica();
    merged_from_.clear();
    CSTOR_LOG_INFO("volume {}: reconciling {} replicas into {}", config_.name, present.size(),
                   primary->replica());
  }
  // Merge every other present replica's newer blocks into the primary, one at a time.
  for (Session* other : present) {
    if (other == primary || merged_from_.contains(other->replica())) continue;
    primary->mode = ReplicaMode::kRebuilding;
    primary->rebuild = RebuildState{};
    primary->rebuild->merge = true;
    primary->rebuild->source = other->replica();
    primary->rebuild->started_micros = now;
    primary->rebuild->sent = true;
    wire::RebuildStart start;
    start.mode = wire::RebuildStart::Mode::kMerge;
    start.source_address = other->hello.rebuild_address;
    start.source_replica = other->replica();
    start.since = std::min(primary->checkpoint, other->checkpoint);
    ConnId conn = primary->conn;
    SendRequest(*primary, wire::Op::kRebuildStart, wire::EncodePayload(start),
                [this, conn](Status st, const wire::Frame* f) {
                  Session* s = FindSession(conn);
                  if (s == nullptr || f == nullptr) return;
                  wire::Frame done = *f;
                  done.status = st.code();
                  HandleRebuildDone(*s, done);
                });
    return;
  }
  // Every present replica is merged into the primary: it holds every write any of them
  // holds, so every acknowledged write (each is on a quorum, and any quorum meets this one).
  snapshots_ = primary->snapshots;
  for (Session* s : present) snapshot_epoch_ = std::max(snapshot_epoch_, s->snapshot_epoch);
  next_io_seq_ = std::max(next_io_seq_, highest + config_.timing.io_seq_margin);
  started_ = true;
  std::vector<std::string> from(merged_from_.begin(), merged_from_.end());
  from.push_back(primary->replica());
  merging_into_.reset();
  merged_from_.clear();
  primary->rebuild_base = primary->checkpoint;
  MakeHealthy(*primary);
  Reconciled(std::move(from));
}

void ReplicatedVolume::Reconciled(std::vector<std::string> from) {
  quorum_present_since_ = 0;
  std::sort(from.begin(), from.end());
  std::string names;
  for (const auto& id : from) names += (names.empty() ? "" : ", ") + id;
  CSTOR_LOG_INFO("volume {}: reconciled from {}", config_.name, names);
  reconciled_from_ = from;
  if (reconciled_) reconciled_(from);
}

}  // namespace cstor::replication
