// VolumeTarget: one volume's target, running. It owns an event loop with the
// ReplicatedVolume on it, the TCP transport on the replication port that replicas dial, and
// the file where the volume's known replicas are kept across restarts. Client IO (the
// iSCSI layer, benchmarks, test tools) enters from any thread and is posted to the loop.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "env/env.h"
#include "net/event_loop.h"
#include "replication/options.h"
#include "replication/volume_status.h"
#include "wire/messages.h"

namespace cstor::target {

struct TargetOptions {
  replication::VolumeConfig volume;
  std::string listen_address = "0.0.0.0:6060";  // the replication port
  // Where the volume's known replicas are kept (<dir>/<volume>.replicas.json); empty: not
  // kept, so a restarted target adopts whichever replicas connect first.
  std::string state_dir;
  Env* env = Env::Default();
};

class VolumeTarget {
 public:
  using Done = std::function<void(Status)>;
  using ReadDone = std::function<void(Result<std::string>)>;
  using ListDone = std::function<void(Result<std::vector<wire::SnapshotEntry>>)>;

  static Result<std::unique_ptr<VolumeTarget>> Start(TargetOptions options);
  ~VolumeTarget();  // stops; IO still outstanding is answered Aborted

  // Closes every session and stops the loop. Idempotent.
  void Stop();
  // The replication address bound.
  const std::string& address() const { return address_; }
  // The loop the volume runs on. The iSCSI target may share it (then IO costs no thread
  // hand-offs); whatever shares it must stop before this does.
  net::EventLoop& loop();

  // ---- client IO: callable from any thread (on the loop itself it runs at once);
  // callbacks run on the target's loop ----
  void Write(uint64_t offset, std::string data, Done done);
  void Read(uint64_t offset, uint32_t length, ReadDone done);
  void Unmap(uint64_t offset, uint64_t length, Done done);
  void Flush(Done done);
  void CreateSnapshot(std::string name, Done done);
  void DeleteSnapshot(std::string name, Done done);
  void ListSnapshots(ListDone done);
  void Resize(uint64_t new_size, Done done);

  replication::VolumeStatus GetStatus();
  // The volume's size in bytes now: it grows by Resize, or when a replica grown while away
  // rejoins. 0 before a replica has told it, or once stopped. On the loop only (cheap).
  uint64_t SizeOnLoop() const;

  // Blocking helpers for tools: each waits for its answer.
  Status WriteSync(uint64_t offset, std::string data);
  Result<std::string> ReadSync(uint64_t offset, uint32_t length);
  Status FlushSync();

  // The path of the known-replicas file for a volume in a state directory.
  static std::string KnownReplicasPath(const std::string& state_dir, const std::string& volume);

 private:
  struct Runtime;
  VolumeTarget(std::unique_ptr<Runtime> rt, std::string address);
  std::unique_ptr<Runtime> rt_;
  std::string address_;
};

// Reads and writes the known-replicas file (JSON: {"volume": ..., "known_replicas":
// {"<id>": <guid>, ...}}).
Result<std::map<std::string, uint64_t>> LoadKnownReplicas(Env* env, const std::string& path,
                                                          const std::string& volume);
Status SaveKnownReplicas(Env* env, const std::string& path, const std::string& volume,
                                const std::map<std::string, uint64_t>& known);

}  // namespace cstor::target
