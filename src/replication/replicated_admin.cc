// ReplicatedVolume: snapshots, resize and status.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "base/log.h"
#include "replication/replicated_volume.h"
#include "replication/replicated_volume_internal.h"

namespace cstor::replication {
namespace {

Status ValidateSnapshotName(const std::string& name) {
  if (name.empty() || name.size() > 200 || !std::isalnum(static_cast<unsigned char>(name[0]))) {
    return Status::InvalidArgument(fmt::format(
        "snapshot name '{}' must be 1-200 characters starting with a letter or digit", name));
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return Status::InvalidArgument(fmt::format("snapshot name '{}' has '{}'", name, c));
    }
  }
  return Status::Ok();
}

// Counts answers from a fixed set of replicas and reports once all are in.
struct Tally {
  uint32_t ok = 0;
  size_t waiting = 0;
  std::vector<ConnId> succeeded;
};

}  // namespace

void ReplicatedVolume::RunSnapshotOp(std::function<void(Done)> op, Done done) {
  snapshot_ops_.emplace_back(std::move(op), std::move(done));
  NextSnapshotOp();
}

void ReplicatedVolume::NextSnapshotOp() {
  if (snapshot_op_running_ || snapshot_ops_.empty()) return;
  auto [op, done] = std::move(snapshot_ops_.front());
  snapshot_ops_.pop_front();
  snapshot_op_running_ = true;
  op([this, done = std::move(done)](Status s) {
    snapshot_op_running_ = false;
    done(s);
    NextSnapshotOp();
  });
}

void ReplicatedVolume::CreateSnapshot(std::string name, Done done) {
  if (Status s = ValidateSnapshotName(name); !s.ok()) return done(s);
  RunSnapshotOp(
      [this, name = std::move(name)](Done finished) mutable {
        if (Status s = Serving(); !s.ok()) return finished(s);
        for (const auto& snap : snapshots_) {
          if (snap.name == name) {
            return finished(Status::AlreadyExists(
                fmt::format("snapshot {}@{} already exists", config_.name, name)));
          }
        }
        // Quiesce: the whole volume, exclusively, waits for every write in flight and holds
        // back new ones until the snapshot is taken.
        locks_.Acquire(0, UINT64_MAX, /*exclusive=*/true,
                       [this, name = std::move(name),
                        finished = std::move(finished)](RangeLock::Id lock) mutable {
                         CreateSnapshotLocked(std::move(name), lock, std::move(finished));
                       });
      },
      std::move(done));
}

void ReplicatedVolume::CreateSnapshotLocked(std::string name, RangeLock::Id lock, Done done) {
  auto finish = [this, lock, done](Status s) {
    locks_.Release(lock);
    done(s);
  };
  if (Status s = Serving(); !s.ok()) return finish(s);
  std::vector<Session*> healthy = Healthy();
  wire::SnapshotRef ref{name, next_io_seq_ - 1};
  const uint64_t epoch = ++snapshot_epoch_;
  auto tally = std::make_shared<Tally>();
  tally->waiting = healthy.size();
  auto settle = [this, tally, ref, finish] {
    if (tally->waiting > 0) return;
    if (tally->ok < cf()) {
      // Not on a quorum: undo it where it was taken.
      const uint64_t undo = ++snapshot_epoch_;
      for (ConnId conn : tally->succeeded) {
        if (Session* s = FindSession(conn)) {
          s->snapshot_epoch = undo;
          SendRequest(*s, wire::Op::kSnapshotDelete,
                      wire::EncodePayload(wire::SnapshotDeleteRequest{ref.name, undo}),
                      [](Status, const wire::Frame*) {});
          std::erase_if(s->snapshots, [&](const auto& x) { return x.name == ref.name; });
        }
      }
      return finish(Status::Unavailable(fmt::format(
          "snapshot {}@{} was taken on {} healthy replicas, needs {}; undone", config_.name,
          ref.name, tally->ok, cf())));
    }
    snapshots_.push_back(ref);
    // A replica that did not take it — in its live rebuild phase, or made healthy while it
    // was being taken — must catch up snapshot by snapshot, so it starts over.
    std::vector<ConnId> behind;
    for (auto& [conn, s] : sessions_) {
      bool took = std::find(tally->succeeded.begin(), tally->succeeded.end(), conn) !=
                  tally->succeeded.end();
      if (s->active() && s->live && !took) behind.push_back(conn);
    }
    for (ConnId conn : behind) {
      if (Session* s = FindSession(conn)) {
        Drop(*s, Status::Aborted("missed snapshot " + ref.name + " during its rebuild"));
      }
    }
    CSTOR_LOG_INFO("volume {}: snapshot {} at io_seq {}", config_.name, ref.name, ref.io_seq);
    finish(Status::Ok());
  };
  for (Session* s : healthy) {
    ConnId conn = s->conn;
    SendRequest(*s, wire::Op::kSnapshotCreate,
                wire::EncodePayload(wire::SnapshotCreateRequest{ref.name, ref.io_seq, epoch}),
                [this, conn, tally, ref, epoch, settle](Status st, const wire::Frame*) {
                  tally->waiting--;
                  Session* sess = FindSession(conn);
                  if (st.ok()) {
                    tally->ok++;
                    tally->succeeded.push_back(conn);
                    if (sess) {
                      sess->snapshots.push_back(ref);
                      sess->snapshot_epoch = epoch;
                    }
                  } else if (sess) {
                    // It lacks the snapshot now: it leaves the quorum and is rebuilt.
                    Drop(*sess, st.WithContext("snapshot " + ref.name + " failed"));
                  }
                  settle();
                });
  }
  settle();
}

void ReplicatedVolume::DeleteSnapshot(std::string name, Done done) {
  RunSnapshotOp([this, name = std::move(name)](Done finished) { DeleteSnapshotNow(name, finished); },
                std::move(done));
}

void ReplicatedVolume::DeleteSnapshotNow(const std::string& name, Done done) {
  if (Status s = Serving(); !s.ok()) return done(s);
  if (std::none_of(snapshots_.begin(), snapshots_.end(),
                   [&](const auto& x) { return x.name == name; })) {
    return done(Status::NotFound(fmt::format("snapshot {}@{} does not exist", config_.name, name)));
  }
  // Gone from the volume at once: a snapshot deleted on some replicas must not be used as
  // a rebuild source anywhere. The healthy replicas delete it now; one that fails is
  // dropped. The others get the list without it from their rebuild plan.
  std::erase_if(snapshots_, [&](const auto& x) { return x.name == name; });
  const uint64_t epoch = ++snapshot_epoch_;
  auto tally = std::make_shared<Tally>();
  std::vector<Session*> healthy = Healthy();
  tally->waiting = healthy.size();
  auto settle = [this, tally, name, done] {
    if (tally->waiting > 0) return;
    if (tally->ok < cf()) {
      return done(Status::Unavailable(fmt::format(
          "snapshot {}@{} was deleted on {} healthy replicas, needs {}; the others delete it "
          "when they are rebuilt", config_.name, name, tally->ok, cf())));
    }
    done(Status::Ok());
  };
  for (Session* s : healthy) {
    ConnId conn = s->conn;
    SendRequest(*s, wire::Op::kSnapshotDelete,
                wire::EncodePayload(wire::SnapshotDeleteRequest{name, epoch}),
                [this, conn, tally, name, epoch, settle](Status st, const wire::Frame*) {
                  Session* sess = FindSession(conn);
                  bool ok = st.ok() || st.Is(Code::kNotFound);
                  if (ok && sess) {
                    std::erase_if(sess->snapshots, [&](const auto& x) { return x.name == name; });
                    sess->snapshot_epoch = epoch;
                  } else if (sess) {
                    Drop(*sess, st.WithContext("delete snapshot " + name));
                  }
                  tally->waiting--;
                  if (ok) tally->ok++;
                  settle();
                });
  }
  settle();
}

void ReplicatedVolume::ListSnapshots(
    std::function<void(Result<std::vector<wire::SnapshotEntry>>)> done) {
  if (Status s = Serving(); !s.ok()) return done(s);
  std::vector<Session*> healthy = Healthy();
  if (healthy.empty()) return done(Status::Unavailable("no healthy replica"));
  SendRequest(*healthy.front(), wire::Op::kSnapshotList, "",
              [done](Status st, const wire::Frame* f) {
                if (!st.ok()) return done(st);
                auto list = wire::Decode<wire::SnapshotListResponse>(f->payload);
                if (!list.ok()) return done(list.status());
                done(std::move(list->snapshots));
              });
}

void ReplicatedVolume::Resize(uint64_t new_size, Done done) {
  if (Status s = Serving(); !s.ok()) return done(s);
  if (new_size < size_) {
    return done(Status::InvalidArgument(fmt::format(
        "volume {} is {} bytes; shrinking to {} is not supported", config_.name, size_, new_size)));
  }
  if (block_size_ == 0 || new_size % block_size_ != 0) {
    return done(Status::InvalidArgument(
        fmt::format("size {} is not a multiple of the block size {}", new_size, block_size_)));
  }
  if (new_size == size_) return done(Status::Ok());
  auto tally = std::make_shared<Tally>();
  std::vector<Session*> healthy = Healthy();
  tally->waiting = healthy.size();
  auto settle = [this, tally, new_size, done] {
    if (tally->waiting > 0) return;
    if (tally->ok < cf()) {
      return done(Status::Unavailable(fmt::format("resize reached {} healthy replicas, needs {}",
                                                  tally->ok, cf())));
    }
    size_ = new_size;
    done(Status::Ok());
  };
  for (Session* s : healthy) {
    ConnId conn = s->conn;
    SendRequest(*s, wire::Op::kResize, wire::EncodePayload(wire::ResizeRequest{new_size}),
                [this, conn, tally, settle](Status st, const wire::Frame*) {
                  tally->waiting--;
                  if (st.ok()) {
                    tally->ok++;
                  } else if (Session* sess = FindSession(conn)) {
                    Drop(*sess, st.WithContext("resize failed"));
                  }
                  settle();
                });
  }
  settle();
}

Phase ReplicatedVolume::phase() const { return phase_; }

VolumeStatus ReplicatedVolume::GetStatus() const {
  VolumeStatus st = counters_;
  st.name = config_.name;
  st.phase = phase_;
  st.message = phase_message_;
  st.size = size_;
  st.block_size = block_size_;
  st.replication_factor = config_.replication_factor;
  st.consistency_factor = ConsistencyFactor(config_.replication_factor);
  st.io_seq = next_io_seq_ == 0 ? 0 : next_io_seq_ - 1;
  st.known_replicas = config_.known_replicas;
  st.reconciled_from = reconciled_from_;
  st.writes_waiting = static_cast<uint32_t>(held_writes_.size());
  uint64_t now = transport_->NowMicros();
  for (const auto& [conn, s] : sessions_) {
    if (!s->active()) continue;
    ReplicaStatus r;
    r.id = s->replica();
    r.guid = s->hello.replica_guid;
    r.address = s->hello.rebuild_address;
    r.mode = s->mode;
    r.quorum = s->known;
    r.checkpointed_io_seq = s->checkpoint;
    r.inflight_reads = s->reads;
    r.inflight_writes = s->writes;
    r.inflight_syncs = s->syncs;
    r.up_micros = now - s->active_micros;
    if (s->rebuild) {
      r.rebuild_done_bytes = s->rebuild->done_bytes;
      r.rebuild_total_bytes = s->rebuild->total_bytes;
    }
    auto attempts = rebuild_attempts_.find(s->replica());
    if (attempts != rebuild_attempts_.end()) r.rebuild_attempts = attempts->second;
    r.last_error = s->last_error;
    st.healthy += s->healthy();
    st.replicas.push_back(std::move(r));
  }
  return st;
}

}  // namespace cstor::replication
