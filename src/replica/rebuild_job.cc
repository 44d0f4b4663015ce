#include "replica/rebuild_job.h"

#include <fmt/format.h>

#include "base/buggify.h"
#include "base/log.h"
#include "wire/auth.h"

namespace cstor::replica {
namespace {

constexpr uint64_t kReportMicros = 1'000'000;

}  // namespace

using replication::MakeFrame;

void LiveUnmaps::Add(uint64_t first, uint64_t end, uint64_t io_seq) {
  if (first >= end) return;
  // Cut what it overlaps: a range starting before it keeps its head (and its tail, if it
  // reaches past the new one); ranges starting inside it keep only their tail.
  auto it = ranges_.lower_bound(first);
  if (it != ranges_.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end > first) {
      if (prev->second.end > end) ranges_[end] = {prev->second.end, prev->second.io_seq};
      prev->second.end = first;
    }
  }
  while (it != ranges_.end() && it->first < end) {
    if (it->second.end > end) ranges_[end] = {it->second.end, it->second.io_seq};
    it = ranges_.erase(it);
  }
  ranges_[first] = {end, io_seq};
}

std::optional<uint64_t> LiveUnmaps::Covering(uint64_t block) const {
  auto it = ranges_.upper_bound(block);
  if (it == ranges_.begin()) return std::nullopt;
  --it;
  if (block >= it->second.end) return std::nullopt;
  return it->second.io_seq;
}

void ApplyLiveUnmaps(const LiveUnmaps& unmaps, wire::BlockVersion& v) {
  if (v.flags & wire::BlockVersion::kAbsent) return;
  auto io_seq = unmaps.Covering(v.block);
  if (!io_seq || *io_seq <= v.io_seq) return;
  v.flags = wire::BlockVersion::kUnmapped;
  v.io_seq = *io_seq;
  v.data.clear();
}

RebuildJob::RebuildJob(Identity id, wire::RebuildStart plan, ReplicaStore* store,
                       replication::Transport* transport, Apply apply, Finished finished,
                       std::function<void(const wire::RebuildProgress&)> progress)
    : id_(std::move(id)), plan_(std::move(plan)), store_(store), transport_(transport),
      apply_(std::move(apply)), finished_(std::move(finished)), progress_(std::move(progress)) {}

RebuildJob::~RebuildJob() {
  *alive_ = false;
  if (conn_ != 0 && !finished_called_) transport_->Close(conn_, Status::Aborted("rebuild ended"));
}

void RebuildJob::Start() {
  started_micros_ = transport_->NowMicros();
  base_ = plan_.since;
  // Batches of up to 64 blocks, and never more data than one frame may carry.
  uint32_t bs = block_size_ = std::max<uint32_t>(1, store_->GetInfo().block_size);
  batch_blocks_ = std::max<uint32_t>(1, std::min<uint32_t>(64, wire::kMaxIoBytes / bs));
  if (plan_.mode == wire::RebuildStart::Mode::kRebuild) {
    store_->HoldCheckpoint(plan_.since);
    // Snapshots the volume no longer has go first; the ones it lacks are recreated in order.
    ReplicaStore::Info info = store_->GetInfo();
    for (const auto& mine : info.snapshots) {
      bool wanted = false;
      for (const auto& s : plan_.snapshots) wanted |= s.name == mine.name;
      if (!wanted) store_->DeleteSnapshot(mine.name, [](Status) {});
    }
    for (const auto& s : plan_.snapshots) {
      bool have = false;
      for (const auto& mine : info.snapshots) have |= mine.name == s.name;
      if (!have) phases_.push_back({s.name, true, s.io_seq});
    }
    if (plan_.floor != 0) phases_.push_back({"", false, 0});
  } else {
    phases_.push_back({"", false, 0});
  }
  conn_ = transport_->Connect(plan_.source_address);
}

void RebuildJob::OnConnected() {
  step_ = Step::kHello;
  nonce_ = transport_->NewNonce();
  wire::Hello h;
  h.purpose = wire::Hello::Purpose::kPeer;
  h.volume = id_.volume;
  h.replica_id = id_.replica_id;
  h.replica_guid = id_.replica_guid;
  h.nonce = nonce_;
  transport_->Send(conn_, MakeFrame(wire::Op::kHello, next_request_++, wire::EncodePayload(h)));
}

void RebuildJob::OnFrame(wire::Frame f) {
  if (finished_called_) return;
  if (!f.response) {
    if (f.op == wire::Op::kReject) {
      auto r = wire::Decode<wire::Reject>(f.payload);
      return Fail(Status(f.status, "source refused the rebuild: " +
                                       (r.ok() ? r->message : std::string("?"))));
    }
    if (f.op == wire::Op::kPing) {
      transport_->Send(conn_, MakeFrame(wire::Op::kPing, f.request_id, f.payload, true));
      return;
    }
    return Fail(Status::Protocol("unexpected " + wire::OpName(f.op) + " from the source"));
  }
  if (step_ == Step::kHello) {
    auto c = wire::Decode<wire::Challenge>(f.payload);
    if (!c.ok()) return Fail(c.status());
    if (!wire::ProofsEqual(c->proof, wire::AnswerProof(id_.secret, id_.volume, nonce_, c->nonce))) {
      return Fail(Status::FailedPrecondition("the rebuild source failed authentication"));
    }
    step_ = Step::kAuth;
    wire::Auth a{wire::ConnectProof(id_.secret, id_.volume, id_.replica_id, nonce_, c->nonce)};
    transport_->Send(conn_, MakeFrame(wire::Op::kAuth, next_request_++, wire::EncodePayload(a)));
    return;
  }
  if (step_ == Step::kAuth) {
    if (f.status != Code::kOk) return Fail(Status(f.status, "source refused: " + f.payload));
    step_ = Step::kWorking;
    return NextPhase();
  }
  auto it = pending_.find(f.request_id);
  if (it == pending_.end()) return;
  auto reply = std::move(it->second);
  pending_.erase(it);
  Status st = f.status == Code::kOk ? Status::Ok() : Status(f.status, f.payload);
  reply(st, f);
}

void RebuildJob::OnClosed(const Status& why) {
  conn_ = 0;
  if (!finished_called_) Fail(why.WithContext("connection to the rebuild source"));
}

void RebuildJob::Request(wire::Op op, std::string payload,
                         std::function<void(Status, const wire::Frame&)> reply) {
  uint64_t id = next_request_++;
  pending_[id] = std::move(reply);
  transport_->Send(conn_, MakeFrame(op, id, std::move(payload)));
}

uint64_t RebuildJob::KeepAt(const wire::BlockVersion& v) const {
  if (plan_.mode == wire::RebuildStart::Mode::kMerge) return v.io_seq;  // newer wins
  if (!current_.snapshot.empty() || plan_.floor == 0) return UINT64_MAX;  // replace
  return plan_.floor;  // replace anything but live writes
}

void RebuildJob::NextPhase() {
  // Answers still due for the phase that ended are ignored, and nothing more is asked of
  // its stream (a throttled request would otherwise go out on it).
  phase_gen_++;
  stream_done_ = true;
  batches_out_ = 0;
  waiting_throttle_ = false;
  if (phases_.empty()) return Succeed();
  current_ = phases_.front();
  phases_.pop_front();
  if (plan_.mode == wire::RebuildStart::Mode::kMerge) return OpenStream();
  RepairOwnTail();
}

bool RebuildJob::SkipDeletedSnapshot(const Status& st) {
  if (current_.snapshot.empty() || !st.Is(Code::kNotFound)) return false;
  // Deleted on the volume while this replica was catching up with it: it need not be
  // recreated, and the next phase copies everything changed since the same base, so the
  // blocks this phase would have brought are not missed.
  CSTOR_LOG_INFO("volume {}: snapshot {} went away during the rebuild; skipping it", id_.volume,
                 current_.snapshot);
  phases_done_++;
  NextPhase();
  return true;
}

void RebuildJob::RepairOwnTail() {
  // Blocks this replica changed since the base may hold writes the source never had (not
  // acknowledged, or lost in a target restart): they take the source's version too.
  uint64_t below = current_.snapshot.empty() ? plan_.floor : UINT64_MAX;
  auto alive = alive_;
  store_->ChangedBetween(base_, below, [this, alive](Result<std::vector<uint64_t>> lbas) {
    if (!*alive) return;
    if (!lbas.ok()) return Fail(lbas.status().WithContext("list own changes"));
    auto tail_blocks = std::make_shared<std::vector<uint64_t>>(std::move(*lbas));
    // The step holds itself only through the request in flight (a weak reference here),
    // so the chain is freed when it ends.
    auto next = std::make_shared<std::function<void(size_t)>>();
    std::weak_ptr<std::function<void(size_t)>> weak_next = next;
    *next = [this, alive, tail_blocks, weak_next](size_t at) {
      auto self = weak_next.lock();
      if (!*alive || !self) return;
      if (at >= tail_blocks->size()) return OpenStream();
      wire::BlockVersionsRequest req;
      req.snapshot = current_.snapshot;
      size_t end = std::min(tail_blocks->size(), at + batch_blocks_);
      req.blocks.assign(tail_blocks->begin() + at, tail_blocks->begin() + end);
      Request(wire::Op::kBlockVersions, wire::EncodePayload(req),
              [this, alive, self, end](Status st, const wire::Frame& f) {
                if (SkipDeletedSnapshot(st)) return;
                if (!st.ok()) return Fail(st.WithContext("read versions from the source"));
                auto r = wire::Decode<wire::BlockVersionsResponse>(f.payload);
                if (!r.ok()) return Fail(r.status());
                ApplyBatch(std::move(r->blocks), [self, end] { (*self)(end); });
              });
    };
    (*next)(0);
  });
}

void RebuildJob::OpenStream() {
  wire::StreamOpen open{base_, current_.snapshot, 0};
  // The live phase receives every write from its floor on: the source skips the blocks
  // those replaced (they would not be applied: KeepAt).
  if (plan_.mode != wire::RebuildStart::Mode::kMerge && current_.snapshot.empty() &&
      plan_.floor != 0) {
    open.below = plan_.floor;
  }
  const uint64_t phase = phase_gen_;
  Request(wire::Op::kStreamOpen, wire::EncodePayload(open), [this, phase](Status st, const wire::Frame& f) {
    if (phase != phase_gen_ || finished_called_) return;
    if (SkipDeletedSnapshot(st)) return;
    if (!st.ok()) return Fail(st.WithContext("open a stream on the source"));
    auto opened = wire::Decode<wire::StreamOpened>(f.payload);
    if (!opened.ok()) return Fail(opened.status());
    stream_id_ = opened->stream_id;
    total_blocks_ = opened->total_blocks;
    scanned_blocks_ = 0;
    stream_done_ = false;
    batches_out_ = 0;
    RequestBatch();
  });
}

void RebuildJob::RequestBatch() {
  // Up to kBatchesInFlight batches are fetched or applied at once, so that the source
  // reads the next ones while this replica applies the last: one at a time, a rebuild
  // under a client load moved about 8 MB/s (issue 18).
  while (!finished_called_ && !stream_done_ && batches_out_ < kBatchesInFlight) {
    if (CSTOR_BUGGIFY("rebuild.stall_step")) {
      throttle_until_micros_ = transport_->NowMicros() + buggify::Range(10'000, 1'500'000);
    }
    if (transport_->NowMicros() < throttle_until_micros_) {
      waiting_throttle_ = true;  // OnTick resumes
      return;
    }
    uint32_t max_blocks = batch_blocks_;
    if (CSTOR_BUGGIFY("rebuild.tiny_batch")) max_blocks = static_cast<uint32_t>(buggify::Range(1, 3));
    batches_out_++;
    const uint64_t phase = phase_gen_;
    Request(wire::Op::kStreamNext, wire::EncodePayload(wire::StreamNext{stream_id_, max_blocks}),
            [this, phase](Status st, const wire::Frame& f) { OnBatch(phase, st, f); });
  }
}

void RebuildJob::OnBatch(uint64_t phase, Status st, const wire::Frame& f) {
  if (phase != phase_gen_ || finished_called_) return;  // its phase is over
  if (SkipDeletedSnapshot(st)) return;
  if (!st.ok()) return Fail(st.WithContext("read the source's stream"));
  auto batch = wire::Decode<wire::StreamBatch>(f.payload);
  if (!batch.ok()) return Fail(batch.status());
  // The first batch of a phase gives the first estimate of its total: reported at once,
  // as is the end of the phase.
  const bool first = scanned_blocks_ == 0;
  scanned_blocks_ = std::max(scanned_blocks_, batch->scanned_blocks);
  const bool done = batch->done;
  if (done) stream_done_ = true;
  RequestBatch();  // fetched while this one is applied
  ApplyBatch(std::move(batch->blocks), [this, phase, first, done] {
    if (phase != phase_gen_ || finished_called_) return;
    batches_out_--;
    Report(first || done);
    if (!stream_done_) return RequestBatch();
    if (batches_out_ == 0) FinishStreamPhase();
  });
}

void RebuildJob::FinishStreamPhase() {
  // This phase's copy is complete: every batch up to the end of the stream is applied.
  if (!current_.create_after) {
    phases_done_++;
    return NextPhase();
  }
  auto alive = alive_;
  store_->CreateSnapshot(current_.snapshot, current_.io_seq, [this, alive](Status s) {
    if (!*alive) return;
    if (!s.ok() && !s.Is(Code::kAlreadyExists)) {
      return Fail(s.WithContext("recreate snapshot " + current_.snapshot));
    }
    base_ = current_.io_seq;
    phases_done_++;
    NextPhase();
  });
}

void RebuildJob::ApplyBatch(std::vector<wire::BlockVersion> blocks, std::function<void()> then) {
  auto remaining = std::make_shared<size_t>(blocks.size() + 1);
  auto failed = std::make_shared<Status>();
  auto alive = alive_;
  auto one_done = [this, alive, remaining, failed, then](Status s) {
    if (!*alive) return;
    if (!s.ok() && failed->ok()) *failed = s;
    if (--*remaining > 0) return;
    if (!failed->ok()) return Fail(failed->WithContext("apply a rebuilt block"));
    then();
  };
  uint64_t bytes = 0;
  for (auto& v : blocks) {
    if (v.flags & wire::BlockVersion::kCorrupt) {
      // Its own copy will do if it is the very same version; otherwise the target mends
      // the source and tries again.
      store_->ReadVersions(current_.snapshot, {v.block},
                           [this, alive, v, one_done](Result<std::vector<wire::BlockVersion>> own) {
                             if (!*alive) return;
                             bool same = own.ok() && own->size() == 1 &&
                                         (*own)[0].io_seq == v.io_seq &&
                                         !((*own)[0].flags & (wire::BlockVersion::kCorrupt |
                                                              wire::BlockVersion::kAbsent));
                             if (!same) corrupt_.insert(v.block);
                             one_done(Status::Ok());
                           });
      continue;
    }
    bytes += v.data.size();
    uint64_t keep = KeepAt(v);
    apply_(std::move(v), keep, current_.snapshot.empty(), one_done);
  }
  copied_bytes_ += bytes;
  if (plan_.max_bytes_per_second != 0) {
    uint64_t now = transport_->NowMicros();
    throttle_until_micros_ = std::max(throttle_until_micros_, now) +
                             bytes * 1'000'000 / plan_.max_bytes_per_second;
  }
  one_done(Status::Ok());
}

void RebuildJob::Report(bool force) {
  uint64_t now = transport_->NowMicros();
  if (!force && now - last_report_micros_ < kReportMicros) return;
  last_report_micros_ = now;
  // The total is an estimate: what was copied so far, scaled by how much is left to scan,
  // and never more than the volume.
  uint64_t total = scanned_blocks_ == 0 ? 0 : copied_bytes_ * total_blocks_ / scanned_blocks_;
  total = std::min(total, copied_bytes_ + (total_blocks_ - std::min(total_blocks_, scanned_blocks_)) *
                              block_size_);
  if (progress_) progress_({copied_bytes_, std::max(total, copied_bytes_), phases_done_});
}

void RebuildJob::OnTick() {
  if (waiting_throttle_ && transport_->NowMicros() >= throttle_until_micros_) {
    waiting_throttle_ = false;
    RequestBatch();
  }
}

void RebuildJob::Fail(Status why) {
  if (finished_called_) return;
  finished_called_ = true;
  wire::RebuildDone done;
  done.message = why.message();
  ReplicaStore::Info info = store_->GetInfo();
  done.checkpoint_io_seq = info.checkpoint_io_seq;
  done.copied_bytes = copied_bytes_;
  done.snapshots = info.snapshots;
  done.corrupt_blocks.assign(corrupt_.begin(), corrupt_.end());
  if (conn_ != 0) transport_->Close(conn_, why);
  finished_(why, std::move(done));
}

void RebuildJob::Succeed() {
  if (!corrupt_.empty() && plan_.mode == wire::RebuildStart::Mode::kMerge) {
    // Reconciling, no replica is healthy, so nothing can mend the source: its unreadable
    // copies are left out (every other replica present is merged too, and a later read of
    // those blocks on the source is repaired from a healthy copy).
    CSTOR_LOG_WARN("volume {}: merge left out {} unreadable block(s) of {}, first {}",
                   id_.volume, corrupt_.size(), plan_.source_replica, *corrupt_.begin());
  } else if (!corrupt_.empty()) {
    return Fail(Status::Corruption(fmt::format("{} source block(s) failed their checksum, first {}",
                                               corrupt_.size(), *corrupt_.begin())));
  }
  auto alive = alive_;
  store_->Flush([this, alive](Result<uint64_t> checkpoint) {
    if (!*alive) return;
    if (!checkpoint.ok()) return Fail(checkpoint.status().WithContext("flush after the rebuild"));
    // A merge primary is complete only once every merge is done: the target says so
    // (Healthy). A rebuild is complete after its live phase.
    bool complete = plan_.mode == wire::RebuildStart::Mode::kRebuild && plan_.floor != 0;
    auto finish = [this, alive](Result<uint64_t> ckpt) {
      if (!*alive) return;
      finished_called_ = true;
      wire::RebuildDone done;
      ReplicaStore::Info info = store_->GetInfo();
      done.checkpoint_io_seq = ckpt.ok() ? *ckpt : info.checkpoint_io_seq;
      done.copied_bytes = copied_bytes_;
      done.snapshots = info.snapshots;
      done.base_io_seq = base_;
      if (conn_ != 0) transport_->Close(conn_, Status::Ok());
      conn_ = 0;
      CSTOR_LOG_INFO("volume {}: replica {} copied {} bytes from {} in {} ms", id_.volume,
                     id_.replica_id, copied_bytes_, plan_.source_replica,
                     (transport_->NowMicros() - started_micros_) / 1000);
      finished_(Status::Ok(), std::move(done));
    };
    auto release = [this, alive, complete, finish, checkpoint] {
      if (!complete) return finish(checkpoint);
      // The replica now holds everything: its checkpoint may move on.
      store_->HoldCheckpoint(std::nullopt);
      store_->Flush(finish);
    };
    if (plan_.mode == wire::RebuildStart::Mode::kMerge) return release();
    // Its snapshots now are the plan's list.
    store_->SetSnapshotEpoch(plan_.snapshot_epoch, [this, alive, release](Status s) {
      if (!*alive) return;
      if (!s.ok()) return Fail(s.WithContext("record the snapshot epoch"));
      release();
    });
  });
}

}  // namespace cstor::replica
