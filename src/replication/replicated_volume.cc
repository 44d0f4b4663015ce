// ReplicatedVolume: sessions with replicas — the authenticated handshake, request
// bookkeeping, heartbeats and dropping replicas that fail or fall behind.
#include "replication/replicated_volume.h"

#include <fmt/format.h>

#include "base/buggify.h"
#include "base/check.h"
#include "base/log.h"
#include "replication/replicated_volume_internal.h"
#include "wire/auth.h"

namespace cstor::replication {

ReplicatedVolume::ReplicatedVolume(VolumeConfig config, Transport* transport)
    : config_(std::move(config)), transport_(transport), size_(config_.size) {
  CSTOR_CHECK(config_.replication_factor >= 1);
  if (CSTOR_BUGGIFY("replication.tight_bounds")) {
    // Tighter than production: replicas are dropped and rebuilds retried more often.
    config_.timing.slow_request_micros = buggify::Range(300'000, 1'500'000);
    config_.timing.write_window = static_cast<uint32_t>(buggify::Range(2, 64));
    config_.timing.stalled_micros = buggify::Range(100'000, 1'000'000);
    config_.timing.rebuild_retry_micros = buggify::Range(20'000, 500'000);
  }
  next_io_seq_ = 0;  // unknown until the replicas have been heard
  phase_message_ = "waiting for replicas";
}

ReplicatedVolume::~ReplicatedVolume() {
  // Answer everything still outstanding, so that no callback is lost.
  auto queued = std::move(snapshot_ops_);
  snapshot_ops_.clear();
  for (auto& [op, done] : queued) done(Status::Aborted("volume shut down"));
  while (!sessions_.empty()) EndSession(sessions_.begin()->first, Status::Aborted("shut down"));
  for (auto& w : waiting_reads_) w->done(Status::Aborted("volume shut down"), 0);
  auto held = std::move(held_writes_);
  held_writes_.clear();
  for (auto& h : held) h.done(Status::Aborted("volume shut down"));
}

ReplicatedVolume::Session* ReplicatedVolume::FindSession(ConnId conn) {
  auto it = sessions_.find(conn);
  return it == sessions_.end() ? nullptr : it->second.get();
}

ReplicatedVolume::Session* ReplicatedVolume::FindReplica(const std::string& id) {
  for (auto& [conn, s] : sessions_) {
    if (s->active() && s->replica() == id) return s.get();
  }
  return nullptr;
}

std::vector<ReplicatedVolume::Session*> ReplicatedVolume::Healthy() {
  std::vector<Session*> out;
  for (auto& [conn, s] : sessions_) {
    if (s->healthy()) out.push_back(s.get());
  }
  return out;
}

void ReplicatedVolume::OnConnected(ConnId conn, bool outgoing) {
  if (outgoing) return;  // the target never dials out
  auto s = std::make_unique<Session>();
  s->conn = conn;
  s->id = next_session_id_++;
  s->connected_micros = s->last_heard_micros = transport_->NowMicros();
  sessions_[conn] = std::move(s);
}

void ReplicatedVolume::OnFrame(ConnId conn, wire::Frame f) {
  Session* s = FindSession(conn);
  if (s == nullptr) return;  // a frame that raced with the session's end
  s->last_heard_micros = transport_->NowMicros();
  if (f.response) {
    HandleResponse(*s, std::move(f));
    return;
  }
  switch (s->stage) {
    case Session::Stage::kHello:
      if (f.op != wire::Op::kHello) return Reject(*s, Code::kProtocol, "expected Hello");
      return HandleHello(*s, f);
    case Session::Stage::kAuth:
      if (f.op != wire::Op::kAuth) return Reject(*s, Code::kProtocol, "expected Auth");
      return HandleAuth(*s, f);
    case Session::Stage::kActive:
      return HandleRequestFromReplica(*s, f);
  }
}

void ReplicatedVolume::Reject(Session& s, Code code, const std::string& why) {
  CSTOR_LOG_WARN("volume {}: refusing replica {} ({}): {}", config_.name,
                 s.hello.replica_id.empty() ? "?" : s.hello.replica_id, s.conn, why);
  transport_->Send(s.conn, MakeFrame(wire::Op::kReject, 0, wire::EncodePayload(wire::Reject{why}),
                                     false, code));
  EndSession(s.conn, Status(code, why));
}

void ReplicatedVolume::HandleHello(Session& s, const wire::Frame& f) {
  auto hello = wire::Decode<wire::Hello>(f.payload);
  if (!hello.ok()) return Reject(s, Code::kProtocol, hello.status().message());
  const wire::Hello& h = *hello;
  if (h.purpose != wire::Hello::Purpose::kReplica) {
    return Reject(s, Code::kProtocol, "this port takes replica sessions, not rebuild peers");
  }
  if (h.volume != config_.name) {
    return Reject(s, Code::kNotFound,
                  fmt::format("this target serves volume {}, not {}", config_.name, h.volume));
  }
  if (h.replica_id.empty()) return Reject(s, Code::kInvalidArgument, "replica id is empty");
  if (h.block_size == 0 || (block_size_ != 0 && h.block_size != block_size_)) {
    return Reject(s, Code::kInvalidArgument,
                  fmt::format("replica {} has block size {}, the volume has {}", h.replica_id,
                              h.block_size, block_size_));
  }
  auto known = config_.known_replicas.find(h.replica_id);
  if (known != config_.known_replicas.end() && known->second != h.replica_guid) {
    return Reject(s, Code::kFailedPrecondition,
                  fmt::format("replica {} has guid {:x} but the volume knows it as {:x}; it "
                              "was recreated and must be removed from the known replicas",
                              h.replica_id, h.replica_guid, known->second));
  }
  if (known == config_.known_replicas.end() &&
      config_.known_replicas.size() >= config_.replication_factor) {
    std::string names;
    for (const auto& [id, guid] : config_.known_replicas) names += (names.empty() ? "" : ", ") + id;
    return Reject(s, Code::kFailedPrecondition,
                  fmt::format("volume {} already has its {} replicas ({}); {} is not one of them",
                              config_.name, config_.replication_factor, names, h.replica_id));
  }
  s.hello = h;
  s.nonce = transport_->NewNonce();
  wire::Challenge c{s.nonce, wire::AnswerProof(config_.secret, config_.name, h.nonce, s.nonce)};
  transport_->Send(s.conn, MakeFrame(wire::Op::kChallenge, f.request_id, wire::EncodePayload(c),
                                     /*response=*/true));
  s.stage = Session::Stage::kAuth;
}

void ReplicatedVolume::HandleAuth(Session& s, const wire::Frame& f) {
  auto auth = wire::Decode<wire::Auth>(f.payload);
  if (!auth.ok()) return Reject(s, Code::kProtocol, auth.status().message());
  wire::Proof expected = wire::ConnectProof(config_.secret, config_.name, s.hello.replica_id,
                                            s.hello.nonce, s.nonce);
  if (!wire::ProofsEqual(expected, auth->proof)) {
    return Reject(s, Code::kFailedPrecondition,
                  "authentication failed: the replica does not know this volume's secret");
  }
  if (Session* old = FindReplica(s.hello.replica_id)) {
    Drop(*old, Status::Aborted("replaced by a new session from the same replica"));
  }
  uint64_t now = transport_->NowMicros();
  s.stage = Session::Stage::kActive;
  s.active_micros = now;
  s.last_write_answer_micros = now;
  s.mode = ReplicaMode::kDegraded;
  s.known = config_.known_replicas.contains(s.hello.replica_id);
  s.checkpoint = s.hello.checkpoint_io_seq;
  s.max_io_seq = s.hello.max_io_seq;
  s.rebuild_base = s.checkpoint;
  s.snapshots = s.hello.snapshots;
  s.snapshot_epoch = s.hello.snapshot_epoch;
  snapshot_epoch_ = std::max(snapshot_epoch_, s.snapshot_epoch);  // stay above every epoch seen
  if (block_size_ == 0) block_size_ = s.hello.block_size;
  if (size_ == 0) size_ = s.hello.volume_size;
  // Whatever this replica holds must look older than anything issued from now on.
  if (next_io_seq_ != 0 && s.max_io_seq >= next_io_seq_) {
    next_io_seq_ = s.max_io_seq + config_.timing.io_seq_margin;
  }
  wire::Welcome w{s.id, s.known, size_, block_size_};
  transport_->Send(s.conn, MakeFrame(wire::Op::kWelcome, f.request_id, wire::EncodePayload(w),
                                     /*response=*/true));
  CSTOR_LOG_INFO("volume {}: replica {} connected (checkpoint {}, max io_seq {}, {})",
                 config_.name, s.replica(), s.checkpoint, s.max_io_seq,
                 s.known ? "known" : "new");
  Plan(now);
  UpdatePhase();
}

void ReplicatedVolume::HandleRequestFromReplica(Session& s, const wire::Frame& f) {
  switch (f.op) {
    case wire::Op::kPing:
      transport_->Send(s.conn, MakeFrame(wire::Op::kPing, f.request_id, f.payload, true));
      return;
    case wire::Op::kRebuildProgress: {
      auto p = wire::Decode<wire::RebuildProgress>(f.payload);
      if (!p.ok()) return Drop(s, p.status());
      if (s.rebuild) {
        s.rebuild->done_bytes = p->done_bytes;
        s.rebuild->total_bytes = p->total_bytes;
      }
      return;
    }
    default:
      return Drop(s, Status::Protocol(
                         fmt::format("unexpected {} from a replica", wire::OpName(f.op))));
  }
}

void ReplicatedVolume::HandleResponse(Session& s, wire::Frame f) {
  auto it = s.pending.find(f.request_id);
  if (it == s.pending.end()) return;  // a late answer to a request already given up on
  Pending p = std::move(it->second);
  s.pending.erase(it);
  if (p.write) s.last_write_answer_micros = transport_->NowMicros();
  Status st;
  if (f.status != Code::kOk) {
    st = Status(f.status, f.payload.empty() ? std::string(CodeName(f.status)) : f.payload);
  }
  p.reply(st, &f);  // may end the session: `s` is not used after this
  if (p.write) AdmitHeldWrites();
}

void ReplicatedVolume::SendRequest(Session& s, wire::Op op, std::string payload,
                                   std::function<void(Status, const wire::Frame*)> reply,
                                   std::shared_ptr<WriteOp> write) {
  uint64_t id = next_request_id_++;
  s.pending[id] = Pending{op, transport_->NowMicros(), std::move(reply), std::move(write)};
  transport_->Send(s.conn, MakeFrame(op, id, std::move(payload)));
}

void ReplicatedVolume::Drop(Session& s, const Status& why) {
  CSTOR_LOG_WARN("volume {}: dropping replica {}: {}", config_.name,
                 s.replica().empty() ? "?" : s.replica(), why.ToString());
  if (s.active()) counters_.drops++;
  ConnId conn = s.conn;
  transport_->Close(conn, why);
  EndSession(conn, why);
}

void ReplicatedVolume::OnClosed(ConnId conn, const Status& why) {
  if (FindSession(conn) == nullptr) return;
  EndSession(conn, why);
}

void ReplicatedVolume::EndSession(ConnId conn, const Status& why) {
  auto it = sessions_.find(conn);
  if (it == sessions_.end()) return;
  std::unique_ptr<Session> s = std::move(it->second);
  sessions_.erase(it);
  if (s->active()) {
    CSTOR_LOG_INFO("volume {}: replica {} disconnected: {}", config_.name, s->replica(),
                   why.message());
  }
  if (s->rebuild) {
    rebuild_attempts_[s->replica()]++;
    rebuild_not_before_[s->replica()] =
        transport_->NowMicros() + RetryDelay(rebuild_attempts_[s->replica()]);
  }
  // Answer its outstanding requests last: the answers may start new IO.
  Status gone = Status::Unavailable(fmt::format("replica {} went away: {}", s->replica(),
                                                why.message()));
  for (auto& [id, p] : s->pending) p.reply(gone, nullptr);
  UpdatePhase();
  RetryWaitingReads();
  AdmitHeldWrites();  // it no longer paces them
}

void ReplicatedVolume::CheckTimers(Session& s, uint64_t now) {
  const Timing& t = config_.timing;
  // How long since `then`; never negative (nothing here may be stamped after `now`, but a
  // wrapped difference would drop a healthy replica).
  auto since = [now](uint64_t then) { return now > then ? now - then : 0; };
  if (!s.active() && since(s.connected_micros) > t.handshake_micros) {
    return Drop(s, Status::Unavailable("handshake did not finish in time"));
  }
  if (since(s.last_heard_micros) > t.dead_after_micros) {
    return Drop(s, Status::Unavailable(fmt::format("no word from the replica for {} ms",
                                                   since(s.last_heard_micros) / 1000)));
  }
  if (!s.active()) return;
  if (s.healthy() || s.live) {
    // A replica that stops keeping up leaves instead of stalling the volume. A healthy one
    // is waited on by the client for a write, and as much for a read, a flush or a snapshot
    // change (a snapshot's quiesce); a rebuilding one that receives writes paces them
    // (flow control). A rebuild is long by nature; pings have their own bound (dead_after).
    for (const auto& [id, p] : s.pending) {
      if (p.op == wire::Op::kRebuildStart || p.op == wire::Op::kPing) continue;
      if (!s.healthy() && !p.write) continue;
      if (since(p.sent_micros) > t.slow_request_micros) {
        return Drop(s, Status::Unavailable(fmt::format("replica is slow: a {} has waited {} ms",
                                                       wire::OpName(p.op),
                                                       since(p.sent_micros) / 1000)));
      }
    }
    // Holding writes back and completing none: stopped, not slow (it may still answer
    // pings). Counted from its last answer to a write, or from the oldest write it holds
    // if that is later: an idle replica has nothing to answer.
    if (s.writes >= t.write_window) {
      uint64_t quiet_since = s.last_write_answer_micros;
      for (const auto& [id, p] : s.pending) {
        if (p.write) {
          quiet_since = std::max(quiet_since, p.sent_micros);
          break;  // request ids grow: the first write is the oldest
        }
      }
      if (since(quiet_since) > t.stalled_micros) {
        return Drop(s, Status::Unavailable(fmt::format(
                           "replica has stalled: {} writes outstanding and no answer for {} ms",
                           s.writes, since(quiet_since) / 1000)));
      }
    }
  }
  if (since(s.last_ping_micros) >= t.heartbeat_micros) {
    s.last_ping_micros = now;
    SendRequest(s, wire::Op::kPing, "", [](Status, const wire::Frame*) {});
  }
}

void ReplicatedVolume::OnTick() {
  std::vector<ConnId> conns;
  for (auto& [conn, s] : sessions_) conns.push_back(conn);
  // The clock is read for each session: dropping one answers its requests, and the answers
  // send new ones (held writes, retried reads) to the others, stamped later than a time
  // read before the loop.
  for (ConnId conn : conns) {
    if (Session* s = FindSession(conn)) CheckTimers(*s, transport_->NowMicros());
  }
  Plan(transport_->NowMicros());
  UpdatePhase();
  // A replica can stop receiving writes without its session ending (a failed rebuild):
  // it no longer paces them.
  AdmitHeldWrites();
}

}  // namespace cstor::replication
