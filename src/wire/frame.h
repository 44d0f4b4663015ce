// Frames of cstor's replication protocol (docs/replication-protocol.md has every byte).
// A frame is a 32-byte header followed by a payload; both carry a crc32c. This file only
// encodes and decodes: it never touches a socket.
//
// Thread-safety: functions are pure; a FrameReader belongs to one connection.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace cstor::wire {

inline constexpr uint32_t kMagic = 0x50525343;  // bytes "CSRP" on the wire
inline constexpr uint8_t kVersion = 2;  // 2: StreamOpen carries `below`
inline constexpr size_t kHeaderSize = 32;
inline constexpr uint32_t kMaxIoBytes = 1 << 20;              // data in one read or write
inline constexpr uint32_t kMaxPayload = kMaxIoBytes + 64 * 1024;  // with the largest header

enum class Op : uint8_t {
  // session set-up (either direction)
  kHello = 1,
  kChallenge = 2,
  kAuth = 3,
  kWelcome = 4,
  kReject = 5,
  // liveness
  kPing = 10,
  // IO, target -> replica
  kWrite = 20,
  kRead = 21,
  kUnmap = 22,
  kFlush = 23,
  kRepair = 24,
  // management, target -> replica
  kSnapshotCreate = 30,
  kSnapshotDelete = 31,
  kSnapshotList = 32,
  kResize = 33,
  kStatus = 34,
  // rebuild, target -> replica, and the replica's reports back
  kRebuildStart = 40,
  kRebuildProgress = 41,
  kRebuildDone = 42,
  kHealthy = 43,  // the replica holds every write: its checkpoint may move on
  // rebuild streams, replica -> replica (and BlockVersions target -> replica, for repairs)
  kStreamOpen = 50,
  kStreamNext = 51,
  kBlockVersions = 52,
};

// The name of an opcode, or "op<N>" for an unknown one.
std::string OpName(Op op);
bool IsKnownOp(uint8_t op);

struct Frame {
  Op op = Op::kPing;
  bool response = false;
  uint64_t request_id = 0;  // a response carries its request's id
  Code status = Code::kOk;  // responses only; an error response's payload is its message
  std::string payload;
};

// The encoded frame, shared so that one write can go to several replicas without copies.
using EncodedFrame = std::shared_ptr<const std::string>;
EncodedFrame Encode(const Frame& frame);

struct Header {
  Op op;
  bool response;
  uint32_t payload_length;
  uint32_t payload_crc;
  uint64_t request_id;
  Code status;
};

// Checks and decodes a 32-byte header: magic, version, header checksum, opcode and the
// payload size limit. Any failure is Protocol with a message that says what was wrong.
Result<Header> DecodeHeader(std::span<const std::byte> bytes);
// Checks a payload against its header and builds the frame.
Result<Frame> FinishFrame(const Header& header, std::string payload);

// Reassembles frames from a byte stream. After an error the reader stays failed: the
// connection must be closed.
class FrameReader {
 public:
  // Appends bytes received from the connection.
  Status Feed(std::span<const std::byte> bytes);
  // The next complete frame, if any.
  std::optional<Frame> Next();
  size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  Status Parse();
  std::string buffer_;
  size_t consumed_ = 0;
  std::optional<Header> header_;
  std::vector<Frame> ready_;
  size_t next_ready_ = 0;
  Status failed_;
};

}  // namespace cstor::wire
