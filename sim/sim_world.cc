#include "sim/sim_world.h"

#include <fmt/format.h>

#include <deque>
#include <optional>

#include "base/check.h"

namespace cstor::sim {

struct SimWorld::Node {
  std::string name;
  replication::Handler* handler = nullptr;
  std::unique_ptr<NodeTransport> transport;
  bool up = true;
  uint64_t incarnation = 1;  // events of an earlier life are ignored
  uint64_t tick_micros = 100'000;
  std::set<uint16_t> ports;
};

// One end of a connection. Frames for this end wait in `inbox`, in order.
struct SimWorld::Endpoint {
  ConnId id = 0;
  ConnId peer = 0;
  std::string node, peer_node;
  uint64_t incarnation = 0;
  bool open = false;
  bool closed = false;
  struct Item {
    uint64_t ready;
    wire::EncodedFrame frame;  // null: the other end closed
    Status why;
  };
  std::deque<Item> inbox;
};

class SimWorld::NodeTransport final : public replication::Transport {
 public:
  NodeTransport(SimWorld* world, std::string node) : world_(world), node_(std::move(node)) {}
  void Send(ConnId conn, wire::EncodedFrame frame) override { world_->Send(conn, std::move(frame)); }
  void Close(ConnId conn, const Status& why) override { world_->Close(conn, why); }
  ConnId Connect(const std::string& address) override { return world_->Connect(node_, address); }
  uint64_t NowMicros() override { return world_->now(); }
  wire::Nonce NewNonce() override {
    wire::Nonce n;
    for (auto& b : n) b = static_cast<uint8_t>(world_->rng().Next());
    return n;
  }

 private:
  SimWorld* world_;
  std::string node_;
};

SimWorld::SimWorld(uint64_t seed) : seed_(seed), rng_(seed) {}
SimWorld::~SimWorld() = default;

void SimWorld::After(uint64_t delay, std::function<void()> fn) {
  events_.push(Event{now_ + delay, next_seq_++, std::move(fn)});
}

uint64_t SimWorld::RunUntil(uint64_t until) {
  uint64_t ran = 0;
  while (!events_.empty() && events_.top().time <= until) {
    Event e = events_.top();
    events_.pop();
    now_ = e.time;
    e.fn();
    ran++;
    events_run_++;
  }
  now_ = std::max(now_, until);
  return ran;
}

replication::Transport* SimWorld::AddNode(const std::string& name, uint64_t tick_micros) {
  auto n = std::make_unique<Node>();
  n->name = name;
  n->up = false;
  n->tick_micros = tick_micros;
  n->transport = std::make_unique<NodeTransport>(this, name);
  replication::Transport* t = n->transport.get();
  nodes_[name] = std::move(n);
  return t;
}

void SimWorld::Tick(const std::string& name, uint64_t inc) {
  Node& n = *nodes_.at(name);
  if (!n.up || n.incarnation != inc) return;
  n.handler->OnTick();
  After(n.tick_micros, [this, name, inc] { Tick(name, inc); });
}

void SimWorld::Listen(const std::string& node, uint16_t port) { nodes_.at(node)->ports.insert(port); }

bool SimWorld::up(const std::string& node) const { return nodes_.at(node)->up; }

void SimWorld::Crash(const std::string& name) {
  Node& n = *nodes_.at(name);
  if (!n.up) return;
  n.up = false;
  n.incarnation++;
  std::vector<ConnId> mine;
  for (auto& [id, e] : ends_) {
    if (e->node == name) mine.push_back(id);
  }
  for (ConnId id : mine) {
    if (!ends_.at(id)->closed) Break(id, Status::Unavailable(name + " crashed"));
    ends_.erase(id);
  }
}

void SimWorld::Start(const std::string& name, replication::Handler* handler) {
  Node& n = *nodes_.at(name);
  n.handler = handler;
  n.up = true;
  n.incarnation++;
  uint64_t inc = n.incarnation;
  After(rng_.Range(1, n.tick_micros), [this, name, inc] { Tick(name, inc); });
}

void SimWorld::Partition(const std::string& a, const std::string& b) {
  partitions_.insert({std::min(a, b), std::max(a, b)});
}

void SimWorld::Heal(const std::string& a, const std::string& b) {
  partitions_.erase({std::min(a, b), std::max(a, b)});
  // Frames held back by the partition move again.
  for (auto& [id, e] : ends_) {
    if (!e->inbox.empty()) {
      ConnId to = id;
      After(0, [this, to] { Deliver(to); });
    }
  }
}

void SimWorld::HealAll() {
  auto copy = partitions_;
  for (const auto& [a, b] : copy) Heal(a, b);
}

bool SimWorld::partitioned(const std::string& a, const std::string& b) const {
  return partitions_.contains({std::min(a, b), std::max(a, b)});
}

ConnId SimWorld::Connect(const std::string& from, const std::string& address) {
  auto client = std::make_unique<Endpoint>();
  ConnId id = next_end_++;
  client->id = id;
  client->node = from;
  client->incarnation = nodes_.at(from)->incarnation;
  size_t colon = address.rfind(':');
  client->peer_node = address.substr(0, colon);
  uint16_t port = colon == std::string::npos ? 0 : static_cast<uint16_t>(std::stoi(address.substr(colon + 1)));
  ends_[id] = std::move(client);
  uint64_t delay = rng_.Range(faults_.min_delay_micros, faults_.max_delay_micros);
  After(delay, [this, id, from, port] {
    auto it = ends_.find(id);
    if (it == ends_.end() || it->second->closed) return;
    Endpoint& c = *it->second;
    Node& owner = *nodes_.at(from);
    if (!owner.up || owner.incarnation != c.incarnation) return;
    auto target = nodes_.find(c.peer_node);
    bool reachable = target != nodes_.end() && target->second->up &&
                     target->second->ports.contains(port) && !partitioned(from, c.peer_node);
    if (!reachable) {
      c.closed = true;
      // A partition looks like a timeout; a dead port like a refusal.
      uint64_t wait = partitioned(from, c.peer_node) ? 3'000'000 : 1'000;
      After(wait, [this, id] {
        auto e = ends_.find(id);
        if (e == ends_.end()) return;
        Node& o = *nodes_.at(e->second->node);
        if (o.up && o.incarnation == e->second->incarnation) {
          o.handler->OnClosed(id, Status::Unavailable("connection failed"));
        }
        ends_.erase(e);
      });
      return;
    }
    auto server = std::make_unique<Endpoint>();
    ConnId sid = next_end_++;
    server->id = sid;
    server->peer = id;
    server->node = c.peer_node;
    server->peer_node = from;
    server->incarnation = target->second->incarnation;
    server->open = true;
    c.peer = sid;
    c.open = true;
    std::string server_node = c.peer_node;
    ends_[sid] = std::move(server);
    nodes_.at(server_node)->handler->OnConnected(sid, false);
    After(rng_.Range(faults_.min_delay_micros, faults_.max_delay_micros), [this, id] {
      auto e = ends_.find(id);
      if (e == ends_.end() || e->second->closed) return;
      Node& o = *nodes_.at(e->second->node);
      if (o.up && o.incarnation == e->second->incarnation) o.handler->OnConnected(id, true);
    });
  });
  return id;
}

bool SimWorld::IsIoFrame(const std::string& bytes) {
  if (bytes.size() < wire::kHeaderSize) return false;
  auto op = static_cast<wire::Op>(bytes[5]);
  return op == wire::Op::kWrite || op == wire::Op::kRead || op == wire::Op::kUnmap;
}

bool SimWorld::Commute(const std::string& a, const std::string& b) {
  auto kind = [](const std::string& bytes) {
    bool response = (static_cast<uint8_t>(bytes[6]) & 1) != 0;
    auto op = static_cast<wire::Op>(bytes[5]);
    return std::pair(response, op);
  };
  auto [ra, oa] = kind(a);
  auto [rb, ob] = kind(b);
  if (ra && rb) return true;                                   // answers, matched by id
  return !ra && !rb && oa == wire::Op::kRead && ob == wire::Op::kRead;  // reads
}

void SimWorld::Send(ConnId from_end, wire::EncodedFrame frame) {
  auto it = ends_.find(from_end);
  if (it == ends_.end() || it->second->closed || !it->second->open) return;
  auto peer = ends_.find(it->second->peer);
  if (peer == ends_.end() || peer->second->closed) return;
  Endpoint& to = *peer->second;
  uint64_t ready = now_ + rng_.Range(faults_.min_delay_micros, faults_.max_delay_micros);
  if (!to.inbox.empty()) ready = std::max(ready, to.inbox.back().ready);  // in order
  bool io = IsIoFrame(*frame);
  if (io && !to.inbox.empty() && to.inbox.back().frame && IsIoFrame(*to.inbox.back().frame) &&
      rng_.Uniform(1000) < faults_.reorder_per_mille && Commute(*frame, *to.inbox.back().frame)) {
    to.inbox.insert(to.inbox.end() - 1, Endpoint::Item{to.inbox.back().ready, frame, {}});
  } else {
    to.inbox.push_back(Endpoint::Item{ready, frame, {}});
  }
  if (io && rng_.Uniform(1000) < faults_.duplicate_per_mille) {
    to.inbox.push_back(Endpoint::Item{to.inbox.back().ready, frame, {}});
  }
  ConnId id = to.id;
  After(ready - now_, [this, id] { Deliver(id); });
}

void SimWorld::Deliver(ConnId to_end) {
  while (true) {
    auto it = ends_.find(to_end);
    if (it == ends_.end() || it->second->closed) return;
    Endpoint& e = *it->second;
    Node& owner = *nodes_.at(e.node);
    if (!owner.up || owner.incarnation != e.incarnation) return;
    if (e.inbox.empty() || e.inbox.front().ready > now_) return;
    if (partitioned(e.node, e.peer_node) && e.inbox.front().frame) return;  // held back
    Endpoint::Item item = std::move(e.inbox.front());
    e.inbox.pop_front();
    if (!item.frame) {  // the other end went away
      e.closed = true;
      owner.handler->OnClosed(to_end, item.why);
      ends_.erase(to_end);
      return;
    }
    const std::string& bytes = *item.frame;
    auto header = wire::DecodeHeader(std::as_bytes(std::span(bytes.data(), wire::kHeaderSize)));
    CSTOR_CHECK(header.ok());
    auto frame = wire::FinishFrame(*header, bytes.substr(wire::kHeaderSize));
    CSTOR_CHECK(frame.ok());
    owner.handler->OnFrame(to_end, std::move(*frame));
  }
}

void SimWorld::Close(ConnId end, const Status& why) {
  auto it = ends_.find(end);
  if (it == ends_.end() || it->second->closed) return;
  Endpoint& e = *it->second;
  e.closed = true;
  ConnId peer = e.peer;
  std::string node = e.node;
  uint64_t inc = e.incarnation;
  // The closer hears of it too (the Transport contract), asynchronously.
  After(0, [this, end, node, inc, why] {
    Node& o = *nodes_.at(node);
    if (o.up && o.incarnation == inc) o.handler->OnClosed(end, why);
    ends_.erase(end);
  });
  // The other end gets what was sent before the close, then the close.
  auto p = ends_.find(peer);
  if (p == ends_.end() || p->second->closed) return;
  uint64_t ready = now_ + rng_.Range(faults_.min_delay_micros, faults_.max_delay_micros);
  if (!p->second->inbox.empty()) ready = std::max(ready, p->second->inbox.back().ready);
  p->second->inbox.push_back(Endpoint::Item{ready, nullptr, Status::Unavailable("closed by peer: " + why.message())});
  After(ready - now_, [this, peer] { Deliver(peer); });
}

void SimWorld::Break(ConnId end, const Status& why) {
  auto it = ends_.find(end);
  if (it == ends_.end()) return;
  it->second->closed = true;  // its (dead) owner hears nothing
  ConnId peer = it->second->peer;
  auto p = ends_.find(peer);
  if (p != ends_.end() && !p->second->closed) {
    p->second->inbox.clear();  // a reset loses what was in flight
    p->second->inbox.push_back(Endpoint::Item{now_, nullptr, why});
    uint64_t delay = rng_.Range(faults_.min_delay_micros, faults_.max_delay_micros);
    After(delay, [this, peer] { Deliver(peer); });
  }
}

void SimWorld::ResetRandomConnection(const std::string& node) {
  std::vector<ConnId> candidates;
  for (auto& [id, e] : ends_) {
    if (e->node == node && e->open && !e->closed) candidates.push_back(id);
  }
  if (candidates.empty()) return;
  ConnId victim = candidates[rng_.Uniform(candidates.size())];
  Endpoint& e = *ends_[victim];
  Node& owner = *nodes_.at(e.node);
  Break(victim, Status::Unavailable("connection reset"));
  uint64_t inc = e.incarnation;
  After(0, [this, victim, node, inc] {
    Node& o = *nodes_.at(node);
    if (o.up && o.incarnation == inc) o.handler->OnClosed(victim, Status::Unavailable("connection reset"));
    ends_.erase(victim);
  });
  (void)owner;
}

}  // namespace cstor::sim
