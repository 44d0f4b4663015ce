// ReplicaServer: the replica side of a process, running. It owns an event loop with the
// ReplicaNode on it, the TCP transport (whose listening port serves rebuild streams to
// peers), and the worker threads that run the engine's blocking calls. `cstor replica
// serve` runs one; the pool manager embeds one.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/volume.h"
#include "replica/replica_node.h"

namespace cstor::replica {

struct ReplicaServerOptions {
  // Where peers fetch rebuild streams from this process.
  std::string listen_address = "127.0.0.1:0";
  // The address peers dial (the target passes it on); by default the bound listen
  // address, which must then not be a wildcard.
  std::string advertise_address;
  size_t engine_threads = 8;
  ReplicaNodeOptions node;  // its rebuild_address is set from the above
};

struct ServedVolume {
  std::shared_ptr<engine::Volume> volume;
  std::string secret;
  std::string target_address;  // host:port of the volume's target
  std::string replica_id;
  uint64_t replica_guid = 0;
  std::string pool;
};

class ReplicaServer {
 public:
  static Result<std::unique_ptr<ReplicaServer>> Start(ReplicaServerOptions options,
                                                      std::vector<ServedVolume> volumes);
  ~ReplicaServer();  // stops

  // Closes every session and stops the threads. Idempotent.
  void Stop();
  std::vector<ReplicaVolumeState> State();
  // The first served volume whose store has failed (its pool fenced after a failed commit
  // or metadata write), or Ok. A failed store never recovers in this process: its pool must
  // be closed and imported again, so the process that runs this server should exit and let
  // its supervisor start it anew (the replica then rejoins and is rebuilt).
  Status Health();
  const std::string& rebuild_address() const { return rebuild_address_; }

 private:
  struct Runtime;
  explicit ReplicaServer(std::unique_ptr<Runtime> runtime, std::string rebuild_address);
  std::unique_ptr<Runtime> rt_;
  std::string rebuild_address_;
};

}  // namespace cstor::replica
