// Configuration of one replicated volume in the target.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace cstor::replication {

struct Timing {
  uint64_t heartbeat_micros = 1'000'000;     // ping an idle peer this often
  uint64_t dead_after_micros = 5'000'000;    // a peer silent this long is gone
  uint64_t handshake_micros = 5'000'000;     // to finish Hello/Auth
  // A replica that receives writes and is this late on a request is dropped.
  uint64_t slow_request_micros = 3'000'000;
  // Flow control: once this many writes are outstanding to any replica that receives
  // writes, new writes wait until it answers, so the slowest replica paces the client
  // instead of falling behind until it is dropped (docs/replication.md, "Flow control").
  uint32_t write_window = 512;
  // A replica that holds writes back (its window full) and answers nothing this long is
  // dropped: it has stopped, it is not merely slow.
  uint64_t stalled_micros = 1'000'000;
  uint64_t rebuild_retry_micros = 1'000'000;     // first retry after a failed rebuild,
  uint64_t rebuild_retry_max_micros = 60'000'000;  // doubling up to this
  uint64_t rebuild_bytes_per_second = 0;     // 0: unthrottled
  // With no healthy replica (after a restart), once a quorum of known replicas is back,
  // how long to wait for the rest before reconciling without them: an absent replica may
  // hold acknowledged writes that the others lost (docs/replication.md).
  uint64_t reconcile_grace_micros = 10'000'000;
  // A restarted target resumes io sequences this far above every one a replica reports,
  // so that no write a replica holds from before the restart can look newer than a new one.
  uint64_t io_seq_margin = uint64_t{1} << 24;
};

struct VolumeConfig {
  std::string name;
  std::string secret;  // shared with the volume's replicas; proves membership
  uint32_t replication_factor = 3;
  // Replicas (id -> guid) that may count toward quorum. Empty: the first
  // replication_factor replicas to connect are adopted (a new volume).
  std::map<std::string, uint64_t> known_replicas;
  uint64_t size = 0;  // 0: learn from the replicas
  Timing timing;
};

inline uint32_t ConsistencyFactor(uint32_t rf) { return rf / 2 + 1; }

}  // namespace cstor::replication
