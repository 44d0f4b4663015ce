#include "replica/replica_node.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/check.h"
#include "base/log.h"
#include "wire/auth.h"

namespace cstor::replica {

// Disjoint unmapped ranges a catching-up replica keeps for its rebuilds; past it the session
// starts over.
constexpr size_t kMaxLiveUnmaps = 1 << 16;

using replication::ConnId;
using replication::MakeFrame;

struct ReplicaNode::Agent {
  enum class Stage { kIdle, kConnecting, kHello, kAuth, kActive };
  ReplicaVolumeConfig config;
  Stage stage = Stage::kIdle;
  ConnId conn = 0;
  uint64_t session = 0;  // bumped per connection; late store answers check it
  wire::Nonce nonce{};
  uint64_t backoff_micros = 0;
  uint64_t next_attempt_micros = 0;
  uint64_t last_heard_micros = 0;
  uint64_t last_ping_micros = 0;
  bool in_quorum = false;
  std::string last_error;
  uint64_t registrations = 0;
  uint64_t rebuilds = 0, last_rebuild_bytes = 0, last_rebuild_micros = 0;
  // Writes received and not yet completed, by arrival number; flushes and snapshots wait
  // for the earlier ones.
  uint64_t next_arrival = 0;
  std::set<uint64_t> writes_in_flight;
  std::deque<std::pair<uint64_t, std::function<void()>>> barriers;
  // Byte ranges of write-like requests running, and of those waiting for an overlapping
  // earlier one, by arrival.
  struct Range {
    uint64_t begin, end;
    bool Overlaps(const Range& o) const { return begin < o.end && o.begin < end; }
  };
  std::map<uint64_t, Range> running;
  struct Waiting {
    uint64_t arrival;
    Range range;
    std::function<void()> start;
  };
  std::deque<Waiting> waiting;
  // Snapshot changes, one at a time in arrival order, so that the recorded snapshot epoch
  // always names the list held; after one fails, the rest of the session's fail too.
  std::deque<std::pair<std::function<void(std::function<void(Status)>)>,
                       std::function<void(Status)>>>
      snapshot_changes;
  bool snapshot_change_running = false;
  bool snapshot_change_failed = false;
  std::unique_ptr<RebuildJob> rebuild;
  std::vector<std::unique_ptr<RebuildJob>> retired;  // finished; freed on the next tick
  // From registration until the target says it is healthy, the replica is catching up,
  // and the unmaps it receives are kept for its rebuilds (see LiveUnmaps).
  bool catching_up = false;
  LiveUnmaps live_unmaps;
  uint32_t block_size = 0;  // of its store, once asked
};

struct ReplicaNode::PeerSession {
  enum class Stage { kHello, kAuth, kActive };
  ConnId conn = 0;
  Stage stage = Stage::kHello;
  Agent* agent = nullptr;
  wire::Hello hello;
  wire::Nonce nonce{};
  std::set<uint64_t> streams;
  uint64_t connected_micros = 0;
  uint64_t last_heard_micros = 0;
};

ReplicaNode::ReplicaNode(ReplicaNodeOptions options, replication::Transport* transport)
    : options_(std::move(options)), transport_(transport) {}

ReplicaNode::~ReplicaNode() {
  for (auto& [conn, p] : peers_) {
    for (uint64_t id : p->streams) p->agent->config.store->CloseStream(id);
  }
}

void ReplicaNode::AddVolume(ReplicaVolumeConfig config) {
  CSTOR_CHECK(config.store != nullptr);
  auto a = std::make_unique<Agent>();
  a->config = std::move(config);
  Agent& ref = *a;
  agents_[ref.config.volume] = std::move(a);
  Connect(ref);
}

ReplicaNode::Agent* ReplicaNode::AgentFor(const std::string& volume) {
  auto it = agents_.find(volume);
  return it == agents_.end() ? nullptr : it->second.get();
}

std::vector<ReplicaVolumeState> ReplicaNode::State() const {
  std::vector<ReplicaVolumeState> out;
  for (const auto& [name, a] : agents_) {
    ReplicaVolumeState s;
    s.volume = name;
    s.connected = a->stage == Agent::Stage::kActive;
    s.in_quorum = a->in_quorum;
    s.rebuilding = a->rebuild != nullptr;
    s.last_error = a->last_error;
    s.sessions = a->registrations;
    s.rebuilds = a->rebuilds;
    s.last_rebuild_bytes = a->last_rebuild_bytes;
    s.last_rebuild_micros = a->last_rebuild_micros;
    out.push_back(std::move(s));
  }
  return out;
}

// ---- the session with the target ----

void ReplicaNode::Connect(Agent& a) {
  if (!CheckStoreHealth(a)) return;
  a.stage = Agent::Stage::kConnecting;
  a.session++;
  a.last_heard_micros = transport_->NowMicros();
  a.conn = transport_->Connect(a.config.target_address);
  target_conns_[a.conn] = &a;
}

bool ReplicaNode::CheckStoreHealth(Agent& a) {
  Status health = a.config.store->Health();
  if (health.ok()) return true;
  if (a.stage != Agent::Stage::kIdle) {
    Disconnect(a, health);  // the target drops this replica now, not at its next failed write
  } else if (a.last_error != health.message()) {
    CSTOR_LOG_ERROR("volume {}: the store has failed and this replica stays away from the "
                    "target until its pool is reopened: {}",
                    a.config.volume, health.message());
  }
  a.last_error = health.message();
  a.next_attempt_micros = transport_->NowMicros() + options_.reconnect_max_micros;
  return false;
}

void ReplicaNode::Disconnect(Agent& a, const Status& why) {
  if (a.conn != 0) {
    target_conns_.erase(a.conn);
    transport_->Close(a.conn, why);
  }
  if (a.stage == Agent::Stage::kActive) {
    CSTOR_LOG_WARN("volume {}: session with the target ended: {}", a.config.volume, why.message());
  }
  a.conn = 0;
  a.stage = Agent::Stage::kIdle;
  a.in_quorum = false;
  if (!why.ok()) a.last_error = why.message();
  a.barriers.clear();  // their answers could not be delivered any more
  a.snapshot_changes.clear();
  a.snapshot_change_running = false;
  a.snapshot_change_failed = false;
  a.catching_up = false;
  a.live_unmaps.Clear();
  if (a.rebuild) {
    a.rebuild->Abandon();  // the target restarts it
    a.retired.push_back(std::move(a.rebuild));
  }
  a.backoff_micros = std::clamp(a.backoff_micros * 2, options_.reconnect_min_micros,
                                options_.reconnect_max_micros);
  a.next_attempt_micros = transport_->NowMicros() + a.backoff_micros;
}

void ReplicaNode::OnConnected(ConnId conn, bool outgoing) {
  if (auto it = target_conns_.find(conn); it != target_conns_.end()) {
    Agent& a = *it->second;
    ReplicaStore::Info info = a.config.store->GetInfo();
    // Until the target says this replica holds every write (Healthy), writes may reach it
    // while older ones are missing, so its checkpoint stays where this session starts.
    a.config.store->HoldCheckpoint(info.checkpoint_io_seq);
    wire::Hello h;
    h.purpose = wire::Hello::Purpose::kReplica;
    h.volume = a.config.volume;
    h.replica_id = a.config.replica_id;
    h.replica_guid = a.config.replica_guid;
    h.pool = a.config.pool;
    h.checkpoint_io_seq = info.checkpoint_io_seq;
    h.max_io_seq = info.max_io_seq;
    h.volume_size = info.size;
    h.block_size = info.block_size;
    h.rebuild_address = options_.rebuild_address;
    h.snapshots = info.snapshots;
    h.snapshot_epoch = info.snapshot_epoch;
    a.nonce = h.nonce = transport_->NewNonce();
    a.stage = Agent::Stage::kHello;
    a.last_heard_micros = transport_->NowMicros();
    transport_->Send(conn, MakeFrame(wire::Op::kHello, 1, wire::EncodePayload(h)));
    return;
  }
  if (auto it = rebuild_conns_.find(conn); it != rebuild_conns_.end()) {
    if (it->second->rebuild && it->second->rebuild->conn() == conn) it->second->rebuild->OnConnected();
    return;
  }
  if (outgoing) return;
  auto p = std::make_unique<PeerSession>();
  p->conn = conn;
  p->connected_micros = p->last_heard_micros = transport_->NowMicros();
  peers_[conn] = std::move(p);
}

void ReplicaNode::OnFrame(ConnId conn, wire::Frame f) {
  if (auto it = target_conns_.find(conn); it != target_conns_.end()) {
    return AgentFrame(*it->second, std::move(f));
  }
  if (auto it = rebuild_conns_.find(conn); it != rebuild_conns_.end()) {
    if (it->second->rebuild && it->second->rebuild->conn() == conn) {
      it->second->rebuild->OnFrame(std::move(f));
    }
    return;
  }
  if (auto it = peers_.find(conn); it != peers_.end()) return PeerFrame(*it->second, std::move(f));
}

void ReplicaNode::OnClosed(ConnId conn, const Status& why) {
  if (auto it = target_conns_.find(conn); it != target_conns_.end()) {
    Agent& a = *it->second;
    target_conns_.erase(it);
    a.conn = 0;
    return Disconnect(a, why);
  }
  if (auto it = rebuild_conns_.find(conn); it != rebuild_conns_.end()) {
    Agent* a = it->second;
    rebuild_conns_.erase(it);
    if (a->rebuild && a->rebuild->conn() == conn) a->rebuild->OnClosed(why);
    return;
  }
  if (auto it = peers_.find(conn); it != peers_.end()) {
    for (uint64_t id : it->second->streams) it->second->agent->config.store->CloseStream(id);
    peers_.erase(it);
  }
}

void ReplicaNode::AgentFrame(Agent& a, wire::Frame f) {
  a.last_heard_micros = transport_->NowMicros();
  if (!f.response && f.op == wire::Op::kReject) {
    auto r = wire::Decode<wire::Reject>(f.payload);
    return Disconnect(a, Status(f.status, "the target refused this replica: " +
                                              (r.ok() ? r->message : std::string("?"))));
  }
  switch (a.stage) {
    case Agent::Stage::kHello: {
      auto c = wire::Decode<wire::Challenge>(f.payload);
      if (!f.response || !c.ok()) return Disconnect(a, Status::Protocol("expected a Challenge"));
      if (!wire::ProofsEqual(c->proof, wire::AnswerProof(a.config.secret, a.config.volume,
                                                         a.nonce, c->nonce))) {
        return Disconnect(a, Status::FailedPrecondition(
                                 "the target failed authentication (it does not know the "
                                 "volume's secret)"));
      }
      wire::Auth auth{wire::ConnectProof(a.config.secret, a.config.volume, a.config.replica_id,
                                         a.nonce, c->nonce)};
      a.stage = Agent::Stage::kAuth;
      transport_->Send(a.conn, MakeFrame(wire::Op::kAuth, 2, wire::EncodePayload(auth)));
      return;
    }
    case Agent::Stage::kAuth: {
      auto w = wire::Decode<wire::Welcome>(f.payload);
      if (!f.response || f.status != Code::kOk || !w.ok()) {
        return Disconnect(a, Status::Protocol("expected a Welcome"));
      }
      a.stage = Agent::Stage::kActive;
      a.in_quorum = w->quorum;
      a.catching_up = true;
      a.live_unmaps.Clear();
      a.backoff_micros = 0;
      a.last_error.clear();
      a.registrations++;
      CSTOR_LOG_INFO("volume {}: registered with the target as {}{}", a.config.volume,
                     a.config.replica_id, w->quorum ? "" : " (not yet in the quorum)");
      return;
    }
    case Agent::Stage::kActive:
      if (f.response) return;  // answers to our pings
      return Serve(a, std::move(f));
    default:
      return;
  }
}

void ReplicaNode::Respond(Agent& a, uint64_t session, const wire::Frame& request, Status st,
                          std::string payload) {
  if (a.session != session || a.stage != Agent::Stage::kActive) return;
  if (!st.ok()) payload = st.message();
  transport_->Send(a.conn, MakeFrame(request.op, request.request_id, std::move(payload), true,
                                     st.code()));
}

void ReplicaNode::AfterEarlierWrites(Agent& a, std::function<void()> fn) {
  AfterWritesBefore(a, a.next_arrival, std::move(fn));
}

void ReplicaNode::AfterWritesBefore(Agent& a, uint64_t arrival, std::function<void()> fn) {
  if (a.writes_in_flight.empty() || *a.writes_in_flight.begin() >= arrival) return fn();
  // Barriers stay in arrival order: one placed later never waits for fewer writes.
  auto at = std::find_if(a.barriers.begin(), a.barriers.end(),
                         [&](const auto& b) { return b.first > arrival; });
  a.barriers.emplace(at, arrival, std::move(fn));
}

void ReplicaNode::StartOrdered(Agent& a, uint64_t begin, uint64_t end,
                               std::function<void(std::function<void()>)> run) {
  uint64_t arrival = a.next_arrival++;
  a.writes_in_flight.insert(arrival);
  Agent::Range range{begin, end};
  auto start = [this, &a, arrival, range, run = std::move(run)] {
    a.running[arrival] = range;
    run([this, &a, arrival] { WriteDone(a, arrival); });
  };
  bool blocked = std::any_of(a.running.begin(), a.running.end(),
                             [&](const auto& r) { return r.second.Overlaps(range); }) ||
                 std::any_of(a.waiting.begin(), a.waiting.end(),
                             [&](const auto& w) { return w.range.Overlaps(range); });
  if (blocked) {
    a.waiting.push_back({arrival, range, std::move(start)});
  } else {
    start();
  }
}

void ReplicaNode::WriteDone(Agent& a, uint64_t arrival) {
  a.writes_in_flight.erase(arrival);
  a.running.erase(arrival);
  // Start waiting requests that no longer overlap anything earlier, in arrival order.
  std::vector<std::function<void()>> ready;
  for (auto it = a.waiting.begin(); it != a.waiting.end();) {
    bool blocked = std::any_of(a.running.begin(), a.running.end(),
                               [&](const auto& r) { return r.second.Overlaps(it->range); }) ||
                   std::any_of(a.waiting.begin(), it,
                               [&](const auto& w) { return w.range.Overlaps(it->range); });
    if (blocked) {
      ++it;
      continue;
    }
    a.running[it->arrival] = it->range;  // claim it before anything else can start
    ready.push_back(std::move(it->start));
    it = a.waiting.erase(it);
  }
  for (auto& start : ready) start();
  uint64_t oldest = a.writes_in_flight.empty() ? UINT64_MAX : *a.writes_in_flight.begin();
  while (!a.barriers.empty() && a.barriers.front().first <= oldest) {
    auto fn = std::move(a.barriers.front().second);
    a.barriers.pop_front();
    fn();
  }
}

void ReplicaNode::Serve(Agent& a, wire::Frame f) {
  ReplicaStore* store = a.config.store;
  const uint64_t session = a.session;
  auto done = [this, &a, session, f](Status st) { Respond(a, session, f, st); };
  auto bad = [&](const Status& s) { Respond(a, session, f, s); };
  switch (f.op) {
    case wire::Op::kPing:
      return Respond(a, session, f, Status::Ok(), f.payload);
    case wire::Op::kWrite: {
      auto w = wire::Decode<wire::WriteRequest>(f.payload);
      if (!w.ok()) return bad(w.status());
      store->AnnounceIo(w->io_seq);  // before it may wait behind an overlapping one
      uint64_t begin = w->offset, end = w->offset + w->data.size();
      return StartOrdered(a, begin, end,
                          [store, w = std::move(*w), done](std::function<void()> finished) mutable {
                            store->Write(w.offset, std::move(w.data), w.io_seq,
                                         [finished, done](Status st) {
                                           finished();
                                           done(st);
                                         });
                          });
    }
    case wire::Op::kUnmap: {
      auto u = wire::Decode<wire::UnmapRequest>(f.payload);
      if (!u.ok()) return bad(u.status());
      if (a.catching_up) {
        // Before announcing it: an announced io sequence must be submitted.
        if (a.live_unmaps.ranges() >= kMaxLiveUnmaps) {
          return Disconnect(a, Status::Aborted(fmt::format(
                                   "more than {} unmapped ranges while catching up; starting over",
                                   kMaxLiveUnmaps)));
        }
        if (a.block_size == 0) a.block_size = store->GetInfo().block_size;
        const uint64_t bs = a.block_size;
        // Whole blocks only: the target sends partial ends as writes of zeros.
        a.live_unmaps.Add((u->offset + bs - 1) / bs, (u->offset + u->length) / bs, u->io_seq);
      }
      store->AnnounceIo(u->io_seq);
      return StartOrdered(a, u->offset, u->offset + u->length,
                          [store, u = *u, done](std::function<void()> finished) {
                            store->Unmap(u.offset, u.length, u.io_seq, [finished, done](Status st) {
                              finished();
                              done(st);
                            });
                          });
    }
    case wire::Op::kRead: {
      auto r = wire::Decode<wire::ReadRequest>(f.payload);
      if (!r.ok()) return bad(r.status());
      return store->Read(r->offset, r->length, [this, &a, session, f](Result<std::string> data) {
        Respond(a, session, f, data.status(), data.ok() ? std::move(*data) : "");
      });
    }
    case wire::Op::kFlush:
      return AfterEarlierWrites(a, [this, &a, session, f, store] {
        store->Flush([this, &a, session, f](Result<uint64_t> ckpt) {
          Respond(a, session, f, ckpt.status(),
                  ckpt.ok() ? wire::EncodePayload(wire::FlushResponse{*ckpt}) : "");
        });
      });
    case wire::Op::kSnapshotCreate: {
      auto r = wire::Decode<wire::SnapshotCreateRequest>(f.payload);
      if (!r.ok()) return bad(r.status());
      // Taken once every write received before it has completed.
      const uint64_t arrival = a.next_arrival;
      return ChangeSnapshots(a, [this, &a, arrival, store, r = *r](std::function<void(Status)> finished) {
        AfterWritesBefore(a, arrival, [store, r, finished] {
          store->CreateSnapshot(r.name, r.io_seq, [store, epoch = r.epoch, finished](Status st) {
            if (!st.ok()) return finished(st);
            store->SetSnapshotEpoch(epoch, finished);
          });
        });
      }, done);
    }
    case wire::Op::kSnapshotDelete: {
      auto r = wire::Decode<wire::SnapshotDeleteRequest>(f.payload);
      if (!r.ok()) return bad(r.status());
      return ChangeSnapshots(a, [store, r = *r](std::function<void(Status)> finished) {
        store->DeleteSnapshot(r.name, [store, epoch = r.epoch, finished](Status st) {
          if (!st.ok() && !st.Is(Code::kNotFound)) return finished(st);
          store->SetSnapshotEpoch(epoch, [st, finished](Status set) {
            finished(set.ok() ? st : set);
          });
        });
      }, done);
    }
    case wire::Op::kSnapshotList:
      return store->ListSnapshots(
          [this, &a, session, f](Result<std::vector<wire::SnapshotEntry>> list) {
            Respond(a, session, f, list.status(),
                    list.ok() ? wire::EncodePayload(wire::SnapshotListResponse{std::move(*list)})
                              : "");
          });
    case wire::Op::kResize: {
      auto r = wire::Decode<wire::ResizeRequest>(f.payload);
      if (!r.ok()) return bad(r.status());
      return store->Resize(r->size, done);
    }
    case wire::Op::kStatus: {
      ReplicaStore::Info info = store->GetInfo();
      wire::StatusResponse s{info.checkpoint_io_seq, info.max_io_seq, info.size,
                             info.allocated_bytes, a.rebuild != nullptr, 0, 0};
      return Respond(a, session, f, Status::Ok(), wire::EncodePayload(s));
    }
    case wire::Op::kBlockVersions: {
      auto r = wire::Decode<wire::BlockVersionsRequest>(f.payload);
      if (!r.ok()) return bad(r.status());
      return store->ReadVersions(r->snapshot, r->blocks,
                                 [this, &a, session, f](Result<std::vector<wire::BlockVersion>> v) {
                                   Respond(a, session, f, v.status(),
                                           v.ok() ? wire::EncodePayload(wire::BlockVersionsResponse{
                                                        std::move(*v)})
                                                  : "");
                                 });
    }
    case wire::Op::kRepair: {
      auto r = wire::Decode<wire::RepairRequest>(f.payload);
      if (!r.ok()) return bad(r.status());
      uint32_t bs = store->GetInfo().block_size;
      // The answer says whether every block was mended: a replica that could not mend one
      // still holds a bad copy, and the target must not go on counting it as healthy.
      auto failed = std::make_shared<Status>();
      for (auto& v : r->blocks) {
        uint64_t keep_at = v.io_seq + 1;  // replaces the same version (its bad copy) or older
        uint64_t begin = v.block * bs;
        StartOrdered(a, begin, begin + bs,
                     [store, failed, v = std::move(v), keep_at](std::function<void()> finished) mutable {
                       uint64_t block = v.block;
                       store->ApplyVersion(std::move(v), keep_at, [failed, finished, block](Status s) {
                         if (!s.ok() && failed->ok()) {
                           *failed = s.WithContext(fmt::format("repair block {}", block));
                         }
                         finished();
                       });
                     });
      }
      return AfterEarlierWrites(a, [done, failed] { done(*failed); });
    }
    case wire::Op::kRebuildStart:
      return StartRebuild(a, f);
    case wire::Op::kHealthy:
      // Caught up: nothing will be rebuilt in this session any more.
      a.catching_up = false;
      a.live_unmaps.Clear();
      store->HoldCheckpoint(std::nullopt);
      return done(Status::Ok());
    default:
      return Disconnect(a, Status::Protocol("unexpected " + wire::OpName(f.op) +
                                            " from the target"));
  }
}

void ReplicaNode::ChangeSnapshots(Agent& a, std::function<void(std::function<void(Status)>)> change,
                                  std::function<void(Status)> respond) {
  a.snapshot_changes.emplace_back(std::move(change), std::move(respond));
  NextSnapshotChange(a);
}

void ReplicaNode::NextSnapshotChange(Agent& a) {
  while (!a.snapshot_change_running && !a.snapshot_changes.empty()) {
    auto [change, respond] = std::move(a.snapshot_changes.front());
    a.snapshot_changes.pop_front();
    if (a.snapshot_change_failed) {
      respond(Status::Aborted("an earlier snapshot change failed in this session"));
      continue;
    }
    a.snapshot_change_running = true;
    const uint64_t session = a.session;
    change([this, &a, session, respond = std::move(respond)](Status st) {
      // NotFound from a delete is success: the snapshot is gone either way.
      respond(st);
      if (a.session != session) return;
      a.snapshot_change_running = false;
      if (!st.ok() && !st.Is(Code::kNotFound)) a.snapshot_change_failed = true;
      NextSnapshotChange(a);
    });
  }
}

void ReplicaNode::StartRebuild(Agent& a, const wire::Frame& request) {
  auto plan = wire::Decode<wire::RebuildStart>(request.payload);
  if (!plan.ok()) return Respond(a, a.session, request, plan.status());
  if (a.rebuild) {
    return Respond(a, a.session, request, Status::Aborted("a rebuild is already running"));
  }
  const uint64_t session = a.session;
  RebuildJob::Identity id{a.config.volume, a.config.secret, a.config.replica_id,
                          a.config.replica_guid};
  a.rebuild = std::make_unique<RebuildJob>(
      id, *plan, a.config.store, transport_,
      [this, &a](wire::BlockVersion v, uint64_t keep_at, bool live, ReplicaStore::Done done) {
        ApplyRebuilt(a, std::move(v), keep_at, live, std::move(done));
      },
      [this, &a, session, request, started = transport_->NowMicros()](Status st,
                                                                       wire::RebuildDone done) {
        if (a.rebuild) a.retired.push_back(std::move(a.rebuild));  // freed on the next tick
        a.last_error = st.ok() ? "" : st.message();
        if (st.ok()) {
          a.rebuilds++;
          a.last_rebuild_bytes = done.copied_bytes;
          a.last_rebuild_micros = transport_->NowMicros() - started;
        }
        if (a.session != session || a.stage != Agent::Stage::kActive) return;
        transport_->Send(a.conn, MakeFrame(request.op, request.request_id,
                                           wire::EncodePayload(done), true, st.code()));
      },
      [this, &a, session](const wire::RebuildProgress& p) {
        if (a.session != session || a.stage != Agent::Stage::kActive) return;
        transport_->Send(a.conn, MakeFrame(wire::Op::kRebuildProgress, 0, wire::EncodePayload(p)));
      });
  a.rebuild->Start();
  rebuild_conns_[a.rebuild->conn()] = &a;
}

void ReplicaNode::ApplyRebuilt(Agent& a, wire::BlockVersion v, uint64_t keep_at, bool live,
                               ReplicaStore::Done done) {
  // In order with live IO on the same block: an unmap that arrives while the copy is being
  // applied waits for it, and one that arrived before it turns the copy into the unmap.
  if (a.block_size == 0) a.block_size = a.config.store->GetInfo().block_size;
  const uint64_t begin = v.block * a.block_size;
  StartOrdered(a, begin, begin + a.block_size,
               [&a, v = std::move(v), keep_at, live, done](std::function<void()> finished) mutable {
                 if (live) ApplyLiveUnmaps(a.live_unmaps, v);
                 a.config.store->ApplyVersion(std::move(v), keep_at,
                                              [finished, done](Status st) {
                                                finished();
                                                done(st);
                                              });
               });
}

// ---- serving rebuild streams to peers ----

void ReplicaNode::PeerFrame(PeerSession& p, wire::Frame f) {
  p.last_heard_micros = transport_->NowMicros();
  auto reject = [&](Code code, const std::string& why) {
    transport_->Send(p.conn, MakeFrame(wire::Op::kReject, 0,
                                       wire::EncodePayload(wire::Reject{why}), false, code));
    transport_->Close(p.conn, Status(code, why));
  };
  if (f.response) return;
  switch (p.stage) {
    case PeerSession::Stage::kHello: {
      auto h = wire::Decode<wire::Hello>(f.payload);
      if (f.op != wire::Op::kHello || !h.ok()) return reject(Code::kProtocol, "expected Hello");
      if (h->purpose != wire::Hello::Purpose::kPeer) {
        return reject(Code::kProtocol, "this port serves rebuild streams to peer replicas");
      }
      p.agent = AgentFor(h->volume);
      if (p.agent == nullptr) {
        return reject(Code::kNotFound, "no replica of volume " + h->volume + " here");
      }
      p.hello = *h;
      p.nonce = transport_->NewNonce();
      wire::Challenge c{p.nonce, wire::AnswerProof(p.agent->config.secret, h->volume, h->nonce,
                                                   p.nonce)};
      p.stage = PeerSession::Stage::kAuth;
      transport_->Send(p.conn, MakeFrame(wire::Op::kChallenge, f.request_id,
                                         wire::EncodePayload(c), true));
      return;
    }
    case PeerSession::Stage::kAuth: {
      auto auth = wire::Decode<wire::Auth>(f.payload);
      wire::Proof expected = wire::ConnectProof(p.agent->config.secret, p.hello.volume,
                                                p.hello.replica_id, p.hello.nonce, p.nonce);
      if (f.op != wire::Op::kAuth || !auth.ok() || !wire::ProofsEqual(expected, auth->proof)) {
        return reject(Code::kFailedPrecondition, "authentication failed");
      }
      p.stage = PeerSession::Stage::kActive;
      transport_->Send(p.conn, MakeFrame(wire::Op::kWelcome, f.request_id,
                                         wire::EncodePayload(wire::Welcome{}), true));
      return;
    }
    case PeerSession::Stage::kActive:
      return ServePeer(p, f);
  }
}

void ReplicaNode::ServePeer(PeerSession& p, const wire::Frame& f) {
  ReplicaStore* store = p.agent->config.store;
  ConnId conn = p.conn;
  // Answers go out only while the peer is still connected.
  auto respond = [this, conn, f](Status st, std::string payload) {
    if (!peers_.contains(conn)) return;
    if (!st.ok()) payload = st.message();
    transport_->Send(conn, MakeFrame(f.op, f.request_id, std::move(payload), true, st.code()));
  };
  switch (f.op) {
    case wire::Op::kPing:
      return respond(Status::Ok(), f.payload);
    case wire::Op::kStreamOpen: {
      auto r = wire::Decode<wire::StreamOpen>(f.payload);
      if (!r.ok()) return respond(r.status(), "");
      return store->OpenStream(r->since, r->snapshot, r->start_block, r->below,
                               [this, conn, respond, store](Result<wire::StreamOpened> o) {
                                 if (o.ok()) {
                                   auto it = peers_.find(conn);
                                   if (it == peers_.end()) return store->CloseStream(o->stream_id);
                                   it->second->streams.insert(o->stream_id);
                                 }
                                 respond(o.status(), o.ok() ? wire::EncodePayload(*o) : "");
                               });
    }
    case wire::Op::kStreamNext: {
      auto r = wire::Decode<wire::StreamNext>(f.payload);
      if (!r.ok()) return respond(r.status(), "");
      if (!p.streams.contains(r->stream_id)) {
        return respond(Status::NotFound("no such stream"), "");
      }
      return store->NextBatch(r->stream_id, r->max_blocks,
                              [respond](Result<wire::StreamBatch> b) {
                                respond(b.status(), b.ok() ? wire::EncodePayload(*b) : "");
                              });
    }
    case wire::Op::kBlockVersions: {
      auto r = wire::Decode<wire::BlockVersionsRequest>(f.payload);
      if (!r.ok()) return respond(r.status(), "");
      return store->ReadVersions(r->snapshot, r->blocks,
                                 [respond](Result<std::vector<wire::BlockVersion>> v) {
                                   respond(v.status(),
                                           v.ok() ? wire::EncodePayload(
                                                        wire::BlockVersionsResponse{std::move(*v)})
                                                  : "");
                                 });
    }
    default:
      transport_->Close(p.conn, Status::Protocol("unexpected " + wire::OpName(f.op)));
  }
}

void ReplicaNode::OnTick() {
  uint64_t now = transport_->NowMicros();
  for (auto& [name, a] : agents_) {
    a->retired.clear();
    if (!CheckStoreHealth(*a)) continue;
    if (a->stage == Agent::Stage::kIdle) {
      if (now >= a->next_attempt_micros) Connect(*a);
      continue;
    }
    if (now - a->last_heard_micros > options_.dead_after_micros) {
      Disconnect(*a, Status::Unavailable("the target has been silent for too long"));
      continue;
    }
    if (a->stage == Agent::Stage::kActive &&
        now - a->last_ping_micros >= options_.heartbeat_micros) {
      a->last_ping_micros = now;
      transport_->Send(a->conn, MakeFrame(wire::Op::kPing, 3, ""));
    }
    if (a->rebuild) a->rebuild->OnTick();
  }
  std::vector<ConnId> dead;
  for (auto& [conn, p] : peers_) {
    if (now - p->last_heard_micros > options_.dead_after_micros * 6) dead.push_back(conn);
  }
  for (ConnId conn : dead) transport_->Close(conn, Status::Unavailable("peer silent"));
}

}  // namespace cstor::replica
