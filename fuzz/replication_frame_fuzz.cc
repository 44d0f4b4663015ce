// libFuzzer target: arbitrary bytes into the replication protocol's frame reader, in
// arbitrary chunks, and every frame it accepts into the decoder of its message type.
// Nothing may crash, hang or read out of bounds; errors are fine.
#include <cstddef>
#include <cstdint>

#include "wire/frame.h"
#include "wire/messages.h"

namespace {

using namespace cstor::wire;

void DecodeAs(const Frame& f) {
  const std::string& p = f.payload;
  switch (f.op) {
    case Op::kHello: (void)Decode<Hello>(p); break;
    case Op::kChallenge: (void)Decode<Challenge>(p); break;
    case Op::kAuth: (void)Decode<Auth>(p); break;
    case Op::kWelcome: (void)Decode<Welcome>(p); break;
    case Op::kReject: (void)Decode<Reject>(p); break;
    case Op::kWrite: (void)Decode<WriteRequest>(p); break;
    case Op::kRead: (void)Decode<ReadRequest>(p); break;
    case Op::kUnmap: (void)Decode<UnmapRequest>(p); break;
    case Op::kFlush: (void)Decode<FlushResponse>(p); break;
    case Op::kSnapshotCreate: (void)Decode<SnapshotCreateRequest>(p); break;
    case Op::kSnapshotDelete: (void)Decode<SnapshotDeleteRequest>(p); break;
    case Op::kSnapshotList: (void)Decode<SnapshotListResponse>(p); break;
    case Op::kResize: (void)Decode<ResizeRequest>(p); break;
    case Op::kStatus: (void)Decode<StatusResponse>(p); break;
    case Op::kRebuildStart: (void)Decode<RebuildStart>(p); break;
    case Op::kRebuildProgress: (void)Decode<RebuildProgress>(p); break;
    case Op::kRebuildDone: (void)Decode<RebuildDone>(p); break;
    case Op::kRepair: (void)Decode<RepairRequest>(p); break;
    case Op::kStreamOpen:
      f.response ? (void)Decode<StreamOpened>(p) : (void)Decode<StreamOpen>(p);
      break;
    case Op::kStreamNext:
      f.response ? (void)Decode<StreamBatch>(p) : (void)Decode<StreamNext>(p);
      break;
    case Op::kBlockVersions:
      f.response ? (void)Decode<BlockVersionsResponse>(p) : (void)Decode<BlockVersionsRequest>(p);
      break;
    case Op::kPing:
    case Op::kHealthy:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the chunk size, so frames split across reads get exercised.
  size_t chunk = 1 + data[0] % 64;
  FrameReader reader;
  for (size_t at = 1; at < size; at += chunk) {
    size_t n = std::min(chunk, size - at);
    if (!reader.Feed(std::as_bytes(std::span(data + at, n))).ok()) break;
    while (auto f = reader.Next()) DecodeAs(*f);
  }
  // Also try the whole input as one payload of every kind.
  std::string payload(reinterpret_cast<const char*>(data), size);
  for (uint8_t op = 0; op < 60; op++) {
    if (!IsKnownOp(op)) continue;
    DecodeAs(Frame{static_cast<Op>(op), false, 0, cstor::Code::kOk, payload});
    DecodeAs(Frame{static_cast<Op>(op), true, 0, cstor::Code::kOk, payload});
  }
  return 0;
}
