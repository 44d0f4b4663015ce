// SimWorld: one seeded, single-threaded world in which the replication code runs as it does
// in production, but on a simulated clock and network (FoundationDB's approach). Every
// event — a frame arriving, a tick, a disk completing — is scheduled at a simulated time
// and run in order; a seed determines everything, so a failing run replays exactly.
//
// The network connects named nodes. Frames on one connection arrive in order (as on TCP),
// after a random delay. Faults: partitions between nodes (frames wait until the partition
// heals or the connection is closed), connection resets, node crashes, and — for IO frames
// only, which the protocol tolerates by request ids and newer-wins — duplicated frames, and
// reordered frames where the order cannot matter: responses and reads. TCP never reorders
// a connection's bytes, and the protocol relies on that: a replica receives stamped writes
// in io-sequence order, which both its checkpoint and the order of overlapping writes
// depend on. The simulation keeps that promise.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <string>

#include "base/random.h"
#include "replication/transport.h"

namespace cstor::sim {

using replication::ConnId;

struct NetworkFaults {
  uint64_t min_delay_micros = 50;
  uint64_t max_delay_micros = 400;
  uint32_t duplicate_per_mille = 0;  // IO frames delivered twice
  uint32_t reorder_per_mille = 0;    // IO frames that overtake the IO frame before them
};

class SimWorld {
 public:
  explicit SimWorld(uint64_t seed);
  ~SimWorld();

  uint64_t now() const { return now_; }
  Random& rng() { return rng_; }
  uint64_t seed() const { return seed_; }

  // ---- events ----
  void After(uint64_t delay_micros, std::function<void()> fn);
  // Runs events until `until` (or until none are left). Returns the number run.
  uint64_t RunUntil(uint64_t until);
  uint64_t events_run() const { return events_run_; }

  // ---- nodes ----
  // Registers a node, down until Start; returns the Transport its handlers use.
  replication::Transport* AddNode(const std::string& name, uint64_t tick_micros = 100'000);
  // Brings a node up with a handler (not owned), which then gets ticks every tick_micros.
  void Start(const std::string& node, replication::Handler* handler);
  // A crashed node stops: its connections break (peers see them close), its events are
  // dropped. Start it again with a new handler.
  void Crash(const std::string& node);
  void Listen(const std::string& node, uint16_t port);
  bool up(const std::string& node) const;

  // ---- faults ----
  NetworkFaults& faults() { return faults_; }
  void Partition(const std::string& a, const std::string& b);
  void Heal(const std::string& a, const std::string& b);
  void HealAll();
  bool partitioned(const std::string& a, const std::string& b) const;
  // Resets a random live connection touching node (both ends see it close).
  void ResetRandomConnection(const std::string& node);

 private:
  class NodeTransport;
  struct Endpoint;
  struct Node;
  struct Event {
    uint64_t time;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Event& o) const { return std::tie(time, seq) > std::tie(o.time, o.seq); }
  };

  ConnId Connect(const std::string& from, const std::string& address);
  void Send(ConnId from_end, wire::EncodedFrame frame);
  void Close(ConnId end, const Status& why);
  void Deliver(ConnId to_end);
  void Tick(const std::string& node, uint64_t incarnation);
  void Break(ConnId end, const Status& why);
  static bool IsIoFrame(const std::string& bytes);
  // True if delivering a after b instead of before it cannot change any outcome.
  static bool Commute(const std::string& a, const std::string& b);

  uint64_t seed_;
  Random rng_;
  uint64_t now_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t events_run_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  NetworkFaults faults_;
  std::map<std::string, std::unique_ptr<Node>> nodes_;
  std::map<ConnId, std::unique_ptr<Endpoint>> ends_;
  ConnId next_end_ = 1;
  std::set<std::pair<std::string, std::string>> partitions_;
};

}  // namespace cstor::sim
