// ReplicaNode: the replica side of replication for one process (a pool manager, or
// `cstor replica serve`). For each volume it serves, it dials the volume's target,
// registers, proves it knows the volume's secret, and then serves the target's IO from the
// volume's ReplicaStore; it reconnects with back-off when the session ends. It also serves
// rebuild streams to peer replicas, and runs the rebuilds the target asks it for.
//
// A state machine over the Transport seam (replication/transport.h): production runs it on
// an Asio event loop (net/), the simulation on a simulated network.
//
// Ordering: writes, unmaps and repairs that overlap an earlier one still running wait for
// it, so that overlapping requests are applied in the order the target sent them (the
// store runs requests concurrently; an unmap of an unwritten block leaves nothing behind
// that could turn away an older write arriving after it). A flush or a snapshot is carried
// out only after every write received before it has completed, so its answer covers them.
//
// Threading: not thread-safe; everything runs on the node's event loop.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "replica/rebuild_job.h"
#include "replica/replica_store.h"
#include "replication/transport.h"

namespace cstor::replica {

struct ReplicaVolumeConfig {
  std::string volume;
  std::string secret;
  std::string target_address;  // host:port of the volume's target (replication port)
  std::string replica_id;
  uint64_t replica_guid = 0;
  std::string pool;
  ReplicaStore* store = nullptr;  // not owned; outlives the node
};

struct ReplicaNodeOptions {
  std::string rebuild_address;  // host:port where this node serves rebuild streams
  uint64_t heartbeat_micros = 1'000'000;
  uint64_t dead_after_micros = 5'000'000;
  uint64_t reconnect_min_micros = 200'000;
  uint64_t reconnect_max_micros = 10'000'000;
};

// What one volume's replica is doing, for status output.
struct ReplicaVolumeState {
  std::string volume;
  bool connected = false;      // registered with the target
  bool in_quorum = false;      // the target said it counts toward quorum
  bool rebuilding = false;
  uint64_t rebuilds = 0;                 // completed in this process
  uint64_t last_rebuild_bytes = 0;       // copied by the last completed one
  uint64_t last_rebuild_micros = 0;      // ... and how long it took
  std::string last_error;
  uint64_t sessions = 0;       // registrations so far
};

class ReplicaNode : public replication::Handler {
 public:
  ReplicaNode(ReplicaNodeOptions options, replication::Transport* transport);
  ~ReplicaNode() override;

  void AddVolume(ReplicaVolumeConfig config);
  std::vector<ReplicaVolumeState> State() const;

  void OnConnected(replication::ConnId conn, bool outgoing) override;
  void OnFrame(replication::ConnId conn, wire::Frame frame) override;
  void OnClosed(replication::ConnId conn, const Status& why) override;
  void OnTick() override;

 private:
  struct Agent;
  struct PeerSession;

  void Connect(Agent& a);
  // False if the volume's store has failed (a fenced pool): the session, if any, is closed
  // and no new one is started, so a replica whose reads would be stale never registers.
  bool CheckStoreHealth(Agent& a);
  void Disconnect(Agent& a, const Status& why);
  void AgentFrame(Agent& a, wire::Frame f);
  void Serve(Agent& a, wire::Frame f);
  void Respond(Agent& a, uint64_t session, const wire::Frame& request, Status st,
               std::string payload = "");
  // Runs fn once every write received before now has completed.
  void AfterEarlierWrites(Agent& a, std::function<void()> fn);
  // Runs fn once every write that arrived before `arrival` has completed.
  void AfterWritesBefore(Agent& a, uint64_t arrival, std::function<void()> fn);
  // Starts a write-like request on bytes [begin, end) once no earlier one overlapping it
  // is running or waiting; `run` gets the callback to call when the store is done.
  // A block version from a rebuild, applied in order with live IO (see RebuildJob::Apply).
  void ApplyRebuilt(Agent& a, wire::BlockVersion v, uint64_t keep_at, bool live,
                    ReplicaStore::Done done);
  void StartOrdered(Agent& a, uint64_t begin, uint64_t end,
                    std::function<void(std::function<void()> finished)> run);
  void WriteDone(Agent& a, uint64_t arrival);
  // Runs a snapshot change after the ones before it; `respond` gets its outcome.
  void ChangeSnapshots(Agent& a, std::function<void(std::function<void(Status)>)> change,
                       std::function<void(Status)> respond);
  void NextSnapshotChange(Agent& a);
  void StartRebuild(Agent& a, const wire::Frame& request);
  void PeerFrame(PeerSession& p, wire::Frame f);
  void ServePeer(PeerSession& p, const wire::Frame& f);
  Agent* AgentFor(const std::string& volume);

  ReplicaNodeOptions options_;
  replication::Transport* transport_;
  std::map<std::string, std::unique_ptr<Agent>> agents_;  // by volume
  std::map<replication::ConnId, Agent*> target_conns_;
  std::map<replication::ConnId, Agent*> rebuild_conns_;
  std::map<replication::ConnId, std::unique_ptr<PeerSession>> peers_;
};

}  // namespace cstor::replica
