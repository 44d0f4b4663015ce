// Payloads of the replication protocol's frames, one struct per message, with their
// encodings. Decoding never trusts its input: a short, long or inconsistent payload is a
// Protocol error naming the message.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "wire/frame.h"

namespace cstor::wire {

using Nonce = std::array<uint8_t, 16>;
using Proof = std::array<uint8_t, 32>;

inline constexpr size_t kMaxNameBytes = 256;
inline constexpr size_t kMaxListEntries = 4096;

struct SnapshotRef {
  std::string name;
  uint64_t io_seq = 0;
  friend bool operator==(const SnapshotRef&, const SnapshotRef&) = default;
};

// Replica -> target (purpose kReplica), or rebuilding replica -> peer (kPeer).
struct Hello {
  enum class Purpose : uint8_t { kReplica = 1, kPeer = 2 };
  Purpose purpose = Purpose::kReplica;
  std::string volume;
  std::string replica_id;
  uint64_t replica_guid = 0;
  std::string pool;
  uint64_t checkpoint_io_seq = 0;
  uint64_t max_io_seq = 0;
  uint64_t volume_size = 0;
  uint32_t block_size = 0;
  std::string rebuild_address;  // host:port where this replica serves rebuild streams
  std::vector<SnapshotRef> snapshots;
  uint64_t snapshot_epoch = 0;  // version of that list (see SnapshotCreateRequest)
  Nonce nonce{};
};

// Answer to Hello: the answering side proves it knows the volume's secret, and challenges.
struct Challenge {
  Nonce nonce{};
  Proof proof{};
};

// The connecting side's proof.
struct Auth {
  Proof proof{};
};

struct Welcome {
  uint64_t session_id = 0;
  bool quorum = false;  // the replica counts toward quorum (false: it must rebuild first)
  uint64_t volume_size = 0;
  uint32_t block_size = 0;
};

struct Reject {
  std::string message;
};

struct WriteRequest {
  uint64_t io_seq = 0;
  uint64_t offset = 0;
  std::string data;
};

struct ReadRequest {
  uint64_t offset = 0;
  uint32_t length = 0;
};

struct UnmapRequest {
  uint64_t io_seq = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct FlushResponse {
  uint64_t checkpoint_io_seq = 0;
};

// Every change to a volume's snapshots carries the next snapshot epoch, which the replica
// keeps with its snapshots; after a target restart, the replica with the highest epoch
// holds the newest list.
struct SnapshotCreateRequest {
  std::string name;
  uint64_t io_seq = 0;
  uint64_t epoch = 0;
};

struct SnapshotDeleteRequest {
  std::string name;
  uint64_t epoch = 0;
};

struct SnapshotEntry {
  std::string name;
  uint64_t io_seq = 0;
  uint64_t size = 0;
  uint64_t referenced_bytes = 0;
  uint64_t used_bytes = 0;
};

struct SnapshotListResponse {
  std::vector<SnapshotEntry> snapshots;
};

struct ResizeRequest {
  uint64_t size = 0;
};

struct StatusResponse {
  uint64_t checkpoint_io_seq = 0;
  uint64_t max_io_seq = 0;
  uint64_t volume_size = 0;
  uint64_t allocated_bytes = 0;
  bool rebuilding = false;
  uint64_t rebuild_done_bytes = 0;
  uint64_t rebuild_total_bytes = 0;
};

// Target -> degraded replica: pull what you miss from `source`.
struct RebuildStart {
  enum class Mode : uint8_t {
    kRebuild = 1,  // become a copy of the source (see docs/replication.md)
    kMerge = 2,    // take the source's newer blocks, keep yours (reconciling after a restart)
  };
  Mode mode = Mode::kRebuild;
  std::string source_address;
  std::string source_replica;
  uint64_t since = 0;  // the replica's checkpoint: copy blocks newer than this
  // First io_seq of the live writes this replica gets in this session: blocks it holds at
  // or above it are newer than anything the source can send. 0: no live writes yet.
  uint64_t floor = 0;
  // Snapshots to recreate, oldest first, before the live volume is brought up to date.
  std::vector<SnapshotRef> snapshots;
  uint64_t snapshot_epoch = 0;        // the version of that list
  uint64_t max_bytes_per_second = 0;  // 0: unthrottled
};

struct RebuildProgress {
  uint64_t done_bytes = 0;
  uint64_t total_bytes = 0;  // estimate
  uint64_t phase = 0;        // snapshots recreated so far
};

struct RebuildDone {
  std::string message;  // empty on success; the status code is in the frame header
  uint64_t checkpoint_io_seq = 0;
  uint64_t copied_bytes = 0;
  std::vector<SnapshotRef> snapshots;   // the replica's snapshots now
  std::vector<uint64_t> corrupt_blocks;  // source blocks that failed their checksum
  // The replica now holds every block as the source held it at this io sequence: where a
  // following live phase starts (a snapshot phase rewinds the live volume to the newest
  // snapshot it recreated).
  uint64_t base_io_seq = 0;
};


struct StreamOpen {
  uint64_t since = 0;
  std::string snapshot;  // empty: the live volume
  uint64_t start_block = 0;
  // Only versions below this io sequence: a live rebuild receives every write from its live
  // floor on, so the source need not read and send the blocks those already replaced.
  uint64_t below = UINT64_MAX;
};

struct StreamOpened {
  uint64_t stream_id = 0;
  uint64_t total_blocks = 0;
};

struct StreamNext {
  uint64_t stream_id = 0;
  uint32_t max_blocks = 0;
};

// One block as a rebuild source holds it.
struct BlockVersion {
  enum Flags : uint8_t { kUnmapped = 1, kCorrupt = 2, kAbsent = 4 };
  uint64_t block = 0;
  uint64_t io_seq = 0;
  uint8_t flags = 0;
  std::string data;  // block_size bytes unless unmapped, corrupt or absent
};

// Target -> replica: replace these blocks (a repair from a good copy); a block is kept if
// its version is newer than the one sent.
struct RepairRequest {
  std::vector<BlockVersion> blocks;
};

struct StreamBatch {
  bool done = false;
  uint64_t scanned_blocks = 0;
  std::vector<BlockVersion> blocks;
};

struct BlockVersionsRequest {
  std::string snapshot;  // empty: the live volume
  std::vector<uint64_t> blocks;
};

struct BlockVersionsResponse {
  std::vector<BlockVersion> blocks;
};

#define CSTOR_WIRE_MESSAGE(T)        \
  std::string EncodePayload(const T&); \
  Status DecodePayload(std::string_view in, T* out);
CSTOR_WIRE_MESSAGE(Hello)
CSTOR_WIRE_MESSAGE(Challenge)
CSTOR_WIRE_MESSAGE(Auth)
CSTOR_WIRE_MESSAGE(Welcome)
CSTOR_WIRE_MESSAGE(Reject)
CSTOR_WIRE_MESSAGE(WriteRequest)
CSTOR_WIRE_MESSAGE(ReadRequest)
CSTOR_WIRE_MESSAGE(UnmapRequest)
CSTOR_WIRE_MESSAGE(FlushResponse)
CSTOR_WIRE_MESSAGE(SnapshotCreateRequest)
CSTOR_WIRE_MESSAGE(SnapshotDeleteRequest)
CSTOR_WIRE_MESSAGE(SnapshotListResponse)
CSTOR_WIRE_MESSAGE(ResizeRequest)
CSTOR_WIRE_MESSAGE(StatusResponse)
CSTOR_WIRE_MESSAGE(RebuildStart)
CSTOR_WIRE_MESSAGE(RebuildProgress)
CSTOR_WIRE_MESSAGE(RebuildDone)
CSTOR_WIRE_MESSAGE(RepairRequest)
CSTOR_WIRE_MESSAGE(StreamOpen)
CSTOR_WIRE_MESSAGE(StreamOpened)
CSTOR_WIRE_MESSAGE(StreamNext)
CSTOR_WIRE_MESSAGE(StreamBatch)
CSTOR_WIRE_MESSAGE(BlockVersionsRequest)
CSTOR_WIRE_MESSAGE(BlockVersionsResponse)
#undef CSTOR_WIRE_MESSAGE

// Decodes a payload of type T, or returns the Protocol error.
template <typename T>
Result<T> Decode(std::string_view in) {
  T out;
  CSTOR_RETURN_IF_ERROR(DecodePayload(in, &out));
  return out;
}

}  // namespace cstor::wire
