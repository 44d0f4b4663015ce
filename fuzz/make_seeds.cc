// Writes a seed corpus of valid frames for the fuzzers, so that fuzzing starts from inputs
// that reach deep into the decoders:   make_seeds DIR
#include <cstdio>
#include <fstream>
#include <string>

#include "wire/frame.h"
#include "wire/messages.h"

using namespace cstor::wire;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  std::string dir = argv[1];
  int n = 0;
  auto put = [&](Op op, bool response, std::string payload) {
    Frame f{op, response, 7, cstor::Code::kOk, std::move(payload)};
    std::ofstream(dir + "/seed" + std::to_string(n++), std::ios::binary) << '\x10' << *Encode(f);
  };
  Hello h;
  h.volume = "pvc-1";
  h.replica_id = "r1";
  h.snapshots = {{"s", 3}};
  put(Op::kHello, false, EncodePayload(h));
  put(Op::kWrite, false, EncodePayload(WriteRequest{5, 4096, std::string(4096, 'w')}));
  put(Op::kRead, false, EncodePayload(ReadRequest{0, 8192}));
  RebuildStart r;
  r.source_address = "127.0.0.1:1";
  r.source_replica = "r2";
  r.since = 3;
  r.floor = 9;
  r.snapshots = {{"s", 3}};
  put(Op::kRebuildStart, false, EncodePayload(r));
  StreamBatch b;
  b.blocks.push_back({1, 2, 0, std::string(4096, 'b')});
  put(Op::kStreamNext, true, EncodePayload(b));
  put(Op::kBlockVersions, false, EncodePayload(BlockVersionsRequest{"", {1, 2, 3}}));
  put(Op::kSnapshotList, true, EncodePayload(SnapshotListResponse{{{"s", 1, 2, 3, 4}}}));
  return 0;
}
