// ReplicatedVolume: client IO. Writes go to every replica that receives writes and are
// acknowledged at a quorum of healthy ones; reads go to one healthy replica that has every
// acknowledged write to the blocks read; flushes complete at a quorum of healthy replicas.
#include <fmt/format.h>

#include <algorithm>

#include "base/buggify.h"
#include "base/check.h"
#include "base/log.h"
#include "replication/replicated_volume.h"
#include "replication/replicated_volume_internal.h"

namespace cstor::replication {
namespace {

constexpr uint64_t kSector = 512;

// Runs parts of an IO and answers once, with the first error if any.
struct Gather {
  explicit Gather(std::function<void(Status)> on_done) : done(std::move(on_done)) {}
  void Add() { outstanding++; }
  void Finish(const Status& s) {
    if (!s.ok() && first_error.ok()) first_error = s;
    if (--outstanding == 0) done(first_error);
  }
  std::function<void(Status)> done;
  size_t outstanding = 1;  // the caller's own share, released by Finish() after fan-out
  Status first_error;
};

}  // namespace

Status ReplicatedVolume::CheckIo(uint64_t offset, uint64_t length) const {
  if (offset % kSector != 0 || length % kSector != 0) {
    return Status::InvalidArgument(
        fmt::format("offset {} and length {} must be multiples of 512", offset, length));
  }
  if (offset > size_ || length > size_ - offset) {
    return Status::OutOfRange(fmt::format("bytes [{}, {}) are beyond the end of volume {} ({})",
                                          offset, offset + length, config_.name, size_));
  }
  return Status::Ok();
}

Status ReplicatedVolume::Serving() const {
  if (phase_ == Phase::kHealthy || phase_ == Phase::kDegraded) return Status::Ok();
  return Status::Unavailable(fmt::format("volume {} is {}: {}", config_.name, PhaseName(phase_),
                                         phase_message_));
}

void ReplicatedVolume::Write(uint64_t offset, std::string data, Done done) {
  counters_.writes++;
  Status s = CheckIo(offset, data.size());
  if (s.ok()) s = Serving();
  if (!s.ok() || data.empty()) {
    if (!s.ok()) counters_.failed_ios++;
    return done(s);
  }
  auto gather = std::make_shared<Gather>(std::move(done));
  const uint64_t bs = block_size_;
  const uint64_t end = offset + data.size();
  // Whole blocks go out as they are; partial ones at either end are read, merged and
  // written whole, so replicas only ever see whole blocks. Large writes are cut into
  // frames of at most kMaxIoBytes.
  uint64_t pos = offset;
  while (pos < end) {
    uint64_t piece_end;
    if (pos % bs != 0 || end - pos < bs) {
      piece_end = std::min(end, (pos / bs + 1) * bs);
    } else {
      piece_end = std::min(pos + wire::kMaxIoBytes, end / bs * bs);
    }
    std::string piece = data.substr(pos - offset, piece_end - pos);
    gather->Add();
    auto finish = [gather](Status st) { gather->Finish(st); };
    if (pos % bs == 0 && piece.size() % bs == 0) {
      WriteBlocks(pos / bs, std::move(piece), finish);
    } else {
      ReadModifyWrite(pos, std::move(piece), finish);
    }
    pos = piece_end;
  }
  gather->Finish(Status::Ok());
}

void ReplicatedVolume::WriteBlocks(uint64_t first, std::string data, Done done) {
  uint64_t n = data.size() / block_size_;
  locks_.Acquire(first, n, /*exclusive=*/false,
                 [this, first, n, data = std::move(data), done](RangeLock::Id lock) mutable {
    IssueWrite(first, n, wire::Op::kWrite, std::move(data), [this, done, lock](Status s) {
      locks_.Release(lock);
      done(s);
    });
  });
}

void ReplicatedVolume::ReadModifyWrite(uint64_t offset, std::string data, Done done) {
  // A partial block: read it whole while holding it exclusively, merge, write it whole.
  const uint64_t bs = block_size_;
  const uint64_t first = offset / bs;
  locks_.Acquire(first, 1, /*exclusive=*/true,
                 [this, first, offset, bs, data = std::move(data), done](RangeLock::Id lock) mutable {
    ReadBlocks(first, 1, {}, [this, first, offset, bs, data = std::move(data), done, lock](
                                 Result<std::string> block, ConnId) mutable {
      if (!block.ok()) {
        locks_.Release(lock);
        return done(block.status().WithContext("read for a partial-block write"));
      }
      block->replace(offset - first * bs, data.size(), data);
      IssueWrite(first, 1, wire::Op::kWrite, std::move(*block), [this, done, lock](Status s) {
        locks_.Release(lock);
        done(s);
      });
    });
  });
}

bool ReplicatedVolume::WindowFull() const {
  for (const auto& [conn, s] : sessions_) {
    if (s->active() && (s->healthy() || s->live) && s->writes >= config_.timing.write_window) {
      return true;
    }
  }
  return false;
}

void ReplicatedVolume::IssueWrite(uint64_t first, uint64_t blocks, wire::Op op,
                                  std::string data, Done done) {
  if (Status s = Serving(); !s.ok()) return done(s);
  // Flow control: behind a replica with a full window, in arrival order. A held write keeps
  // its range lock; only replica answers release it, and those never wait on a held write.
  if (!held_writes_.empty() || WindowFull()) {
    counters_.held_writes++;
    held_writes_.push_back(HeldWrite{first, blocks, op, std::move(data), std::move(done)});
    return;
  }
  SendWrite(first, blocks, op, std::move(data), std::move(done));
}

void ReplicatedVolume::AdmitHeldWrites() {
  if (admitting_) return;  // a write's answer that starts new IO lands here again
  admitting_ = true;
  while (!held_writes_.empty() && !WindowFull()) {
    HeldWrite h = std::move(held_writes_.front());
    held_writes_.pop_front();
    if (Status s = Serving(); !s.ok()) {
      h.done(s);
      continue;
    }
    SendWrite(h.first, h.blocks, h.op, std::move(h.data), std::move(h.done));
  }
  admitting_ = false;
}

void ReplicatedVolume::SendWrite(uint64_t first, uint64_t blocks, wire::Op op, std::string data,
                                 Done done) {
  auto w = std::make_shared<WriteOp>();
  w->io_seq = next_io_seq_++;
  w->first = first;
  w->blocks = blocks;
  w->done = std::move(done);
  std::string payload =
      op == wire::Op::kWrite
          ? wire::EncodePayload(wire::WriteRequest{w->io_seq, first * block_size_, std::move(data)})
          : wire::EncodePayload(
                wire::UnmapRequest{w->io_seq, first * block_size_, blocks * block_size_});
  // One encoding, one request id, shared by every replica's copy.
  uint64_t id = next_request_id_++;
  wire::EncodedFrame frame = MakeFrame(op, id, std::move(payload));
  uint64_t now = transport_->NowMicros();
  std::vector<ConnId> targets;
  for (auto& [conn, s] : sessions_) {
    if (!s->active() || !(s->healthy() || s->live)) continue;
    targets.push_back(conn);
    if (s->healthy()) w->waiting_healthy.insert(conn);
  }
  CSTOR_LOG_DEBUG("volume {}: {} io_seq {} blocks {}+{} to {} replicas", config_.name,
                  wire::OpName(op), w->io_seq, first, blocks, targets.size());
  for (ConnId conn : targets) {
    Session& s = *sessions_[conn];
    s.writes++;
    s.pending[id] = Pending{op, now,
                            [this, w, conn](Status st, const wire::Frame*) {
                              if (Session* sess = FindSession(conn)) sess->writes--;
                              FinishWrite(*w, conn, true, st);
                            },
                            w};
    transport_->Send(conn, frame);
  }
  FinishWrite(*w, 0, false, Status::Ok());  // settles writes that cannot reach a quorum
}

void ReplicatedVolume::FinishWrite(WriteOp& w, ConnId from, bool answered, const Status& st) {
  if (answered) {
    bool counted = w.waiting_healthy.erase(from) > 0;
    if (st.ok()) {
      if (counted) w.acks++;
    } else if (Session* s = FindSession(from)) {
      // A replica that failed a write lacks it: it leaves the quorum and is rebuilt.
      Drop(*s, st.WithContext(fmt::format("write io_seq {} failed", w.io_seq)));
    }
  }
  if (!w.finished) {
    if (w.acks >= cf()) {
      w.finished = w.acked = true;
      CSTOR_LOG_DEBUG("volume {}: io_seq {} acknowledged", config_.name, w.io_seq);
      w.done(Status::Ok());
    } else if (w.acks + w.waiting_healthy.size() < cf()) {
      w.finished = true;
      counters_.failed_ios++;
      w.done(Status::Unavailable(fmt::format(
          "volume {}: write io_seq {} reached {} healthy replicas, needs {}", config_.name,
          w.io_seq, w.acks, cf())));
    }
  }
  if (answered) RetryWaitingReads();
}

ReplicatedVolume::Session* ReplicatedVolume::PickReader(uint64_t first, uint64_t blocks,
                                                        const std::set<ConnId>& exclude,
                                                        bool* must_wait) {
  *must_wait = false;
  Session* best = nullptr;
  bool any = false;
  // Any eligible replica is a correct choice; the least loaded is the fast one.
  const bool any_will_do = CSTOR_BUGGIFY("replication.any_reader");
  for (auto& [conn, s] : sessions_) {
    if (!s->healthy() || exclude.contains(conn)) continue;
    any = true;
    // It must already have every write to these blocks that a client was told succeeded.
    bool lacks = false;
    for (const auto& [id, p] : s->pending) {
      if (p.write && p.write->acked && p.write->Overlaps(first, blocks)) {
        lacks = true;
        break;
      }
    }
    if (lacks) continue;
    if (!best || s->reads + s->writes < best->reads + best->writes ||
        (any_will_do && buggify::Range(0, 1) == 1)) {
      best = s.get();
    }
  }
  *must_wait = any && best == nullptr;
  return best;
}

void ReplicatedVolume::Read(uint64_t offset, uint32_t length, ReadDone done) {
  counters_.reads++;
  Status s = CheckIo(offset, length);
  if (s.ok()) s = Serving();
  if (!s.ok()) {
    counters_.failed_ios++;
    return done(s);
  }
  if (length == 0) return done(std::string());
  const uint64_t bs = block_size_;
  const uint64_t first = offset / bs, last = (offset + length - 1) / bs;
  const uint64_t per_frame = wire::kMaxIoBytes / bs;
  auto result = std::make_shared<std::string>((last - first + 1) * bs, '\0');
  auto gather = std::make_shared<Gather>([result, done, offset, length, first, bs](Status st) {
    if (!st.ok()) return done(st);
    done(result->substr(offset - first * bs, length));
  });
  for (uint64_t b = first; b <= last; b += per_frame) {
    uint64_t n = std::min(per_frame, last + 1 - b);
    gather->Add();
    ReadBlocks(b, n, {}, [gather, result, b, first, bs](Result<std::string> r, ConnId) {
      if (r.ok()) result->replace((b - first) * bs, r->size(), *r);
      gather->Finish(r.status());
    });
  }
  gather->Finish(Status::Ok());
}

void ReplicatedVolume::ReadBlocks(uint64_t first, uint64_t blocks, std::set<ConnId> tried,
                                  BlockReadDone done) {
  bool wait = false;
  Session* s = PickReader(first, blocks, tried, &wait);
  if (s == nullptr) {
    if (wait) {
      waiting_reads_.push_back(
          std::make_unique<WaitingRead>(WaitingRead{first, blocks, std::move(tried), std::move(done)}));
      return;
    }
    counters_.failed_ios++;
    return done(Status::Unavailable(fmt::format(
                    "volume {}: no healthy replica left to read blocks {}..{} from",
                    config_.name, first, first + blocks - 1)),
                0);
  }
  ConnId conn = s->conn;
  s->reads++;
  uint64_t bs = block_size_;
  CSTOR_LOG_DEBUG("volume {}: read blocks {}+{} from {}", config_.name, first, blocks, s->replica());
  SendRequest(*s, wire::Op::kRead,
              wire::EncodePayload(wire::ReadRequest{first * bs, static_cast<uint32_t>(blocks * bs)}),
              [this, conn, first, blocks, bs, tried, done](Status st,
                                                           const wire::Frame* f) mutable {
                Session* sess = FindSession(conn);
                if (sess) sess->reads--;
                if (st.ok() && f->payload.size() != blocks * bs) {
                  st = Status::Protocol(fmt::format("read answered {} bytes, asked {}",
                                                    f->payload.size(), blocks * bs));
                }
                if (st.ok()) return done(f->payload, conn);
                tried.insert(conn);
                if (st.Is(Code::kCorruption)) {
                  // Answer from another replica, then mend this one from that copy.
                  return ReadBlocks(first, blocks, tried,
                                    [this, conn, first, blocks, done](Result<std::string> r,
                                                                      ConnId good) {
                                      if (r.ok()) Repair(conn, good, first, blocks);
                                      done(std::move(r), good);
                                    });
                }
                if (sess) Drop(*sess, st.WithContext("read failed"));
                ReadBlocks(first, blocks, tried, std::move(done));
              });
}

void ReplicatedVolume::RetryWaitingReads() {
  if (waiting_reads_.empty()) return;
  auto waiting = std::move(waiting_reads_);
  waiting_reads_.clear();
  for (auto& w : waiting) ReadBlocks(w->first, w->blocks, std::move(w->tried), std::move(w->done));
}

void ReplicatedVolume::Repair(ConnId bad, ConnId good, uint64_t first, uint64_t blocks) {
  Session* g = FindSession(good);
  if (g == nullptr) return;
  counters_.repairs++;
  wire::BlockVersionsRequest req;
  for (uint64_t b = first; b < first + blocks; b++) req.blocks.push_back(b);
  SendRequest(*g, wire::Op::kBlockVersions, wire::EncodePayload(req),
              [this, bad](Status st, const wire::Frame* f) {
                Session* b = FindSession(bad);
                if (!st.ok() || b == nullptr) return;
                auto versions = wire::Decode<wire::BlockVersionsResponse>(f->payload);
                if (!versions.ok()) return;
                wire::RepairRequest repair{std::move(versions->blocks)};
                CSTOR_LOG_WARN("volume {}: repairing {} block(s) on replica {}", config_.name,
                               repair.blocks.size(), b->replica());
                SendRequest(*b, wire::Op::kRepair, wire::EncodePayload(repair),
                            [this, bad](Status rs, const wire::Frame*) {
                              if (rs.ok()) return;
                              if (Session* s = FindSession(bad)) Drop(*s, rs.WithContext("repair failed"));
                            });
              });
}

void ReplicatedVolume::Unmap(uint64_t offset, uint64_t length, Done done) {
  Status s = CheckIo(offset, length);
  if (s.ok()) s = Serving();
  if (!s.ok() || length == 0) return done(s);
  const uint64_t bs = block_size_, end = offset + length;
  const uint64_t a = (offset + bs - 1) / bs, b = end / bs;
  auto gather = std::make_shared<Gather>(std::move(done));
  auto finish = [gather](Status st) { gather->Finish(st); };
  if (a >= b) {  // no whole block: the range is zeroed
    gather->Add();
    Write(offset, std::string(length, '\0'), finish);
  } else {
    if (offset < a * bs) {
      gather->Add();
      Write(offset, std::string(a * bs - offset, '\0'), finish);
    }
    if (b * bs < end) {
      gather->Add();
      Write(b * bs, std::string(end - b * bs, '\0'), finish);
    }
    gather->Add();
    locks_.Acquire(a, b - a, /*exclusive=*/false, [this, a, b, finish](RangeLock::Id lock) {
      IssueWrite(a, b - a, wire::Op::kUnmap, "", [this, finish, lock](Status st) {
        locks_.Release(lock);
        finish(st);
      });
    });
  }
  gather->Finish(Status::Ok());
}

void ReplicatedVolume::Flush(Done done) {
  counters_.flushes++;
  if (Status s = Serving(); !s.ok()) return done(s);
  // Each replica flushes after every write it received before the flush, so a quorum of
  // healthy answers covers every write acknowledged before it.
  struct FlushOp {
    uint32_t acks = 0;
    size_t waiting = 0;
    bool finished = false;
    Done done;
  };
  auto op = std::make_shared<FlushOp>();
  op->done = std::move(done);
  auto settle = [this, op] {
    if (op->finished) return;
    if (op->acks >= cf()) {
      op->finished = true;
      op->done(Status::Ok());
    } else if (op->acks + op->waiting < cf()) {
      op->finished = true;
      counters_.failed_ios++;
      op->done(Status::Unavailable(fmt::format("volume {}: flush reached {} healthy replicas, needs {}",
                                               config_.name, op->acks, cf())));
    }
  };
  std::vector<Session*> healthy = Healthy();
  op->waiting = healthy.size();
  for (Session* s : healthy) {
    ConnId conn = s->conn;
    s->syncs++;
    SendRequest(*s, wire::Op::kFlush, "", [this, op, conn, settle](Status st, const wire::Frame* f) {
      op->waiting--;
      Session* sess = FindSession(conn);
      if (sess) sess->syncs--;
      if (st.ok()) {
        auto r = wire::Decode<wire::FlushResponse>(f->payload);
        if (r.ok()) {
          op->acks++;
          if (sess) sess->checkpoint = std::max(sess->checkpoint, r->checkpoint_io_seq);
        } else if (sess) {
          Drop(*sess, r.status());
        }
      } else if (sess) {
        Drop(*sess, st.WithContext("flush failed"));
      }
      settle();
    });
  }
  settle();
}

}  // namespace cstor::replication
