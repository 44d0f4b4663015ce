// Writes a seed corpus of valid inputs for one fuzzer, so that fuzzing starts from inputs
// that reach deep into the parsers:   make_seeds FUZZER DIR
#include <cstdio>
#include <fstream>
#include <string>

#include "iscsi/pdu.h"
#include "wire/frame.h"
#include "wire/messages.h"

using namespace cstor::wire;
namespace iscsi = cstor::iscsi;

namespace {

void Write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// iscsi_pdu_fuzz: a login request, a SCSI command with immediate data, a text request.
void IscsiSeeds(const std::string& dir) {
  std::string stream;
  iscsi::Pdu login = iscsi::Pdu::Make(iscsi::Opcode::kLogin, 0x81);  // T, CSG 0 -> NSG 1
  login.bhs[0] |= 0x40;
  login.data = iscsi::EncodeText({{"InitiatorName", "iqn.2024-01.org.example:host"},
                                  {"SessionType", "Normal"},
                                  {"TargetName", "iqn.2016-09.com.openebs.cstor:fuzz"},
                                  {"AuthMethod", "CHAP,None"}});
  login.AppendTo(&stream, false, false);
  iscsi::Pdu cmd = iscsi::Pdu::Make(iscsi::Opcode::kScsiCommand, 0xa0);  // F, W
  cmd.set_u32(20, 512);
  cmd.bhs[32] = 0x2a;  // WRITE(10) of one block
  cmd.bhs[40] = 1;
  cmd.data.assign(512, 'x');
  cmd.AppendTo(&stream, false, false);
  iscsi::Pdu text = iscsi::Pdu::Make(iscsi::Opcode::kText, 0x80);
  text.data = iscsi::EncodeText({{"SendTargets", "All"}});
  text.AppendTo(&stream, false, false);
  Write(dir + "/seed0", std::string("\x00\x40", 2) + stream);
  std::string digested;
  login.AppendTo(&digested, true, true);
  cmd.AppendTo(&digested, true, true);
  Write(dir + "/seed1", std::string("\x03\x07", 2) + digested);
}

// scsi_cdb_fuzz: one record per command class the unit implements.
void ScsiSeeds(const std::string& dir) {
  auto record = [](uint8_t length_selector, std::initializer_list<uint8_t> cdb,
                   const std::string& data_out = {}) {
    std::string r;
    r += static_cast<char>(length_selector);
    r += '\0';  // nexus 0
    r += '\0';  // flags
    r += static_cast<char>(data_out.size() >> 8);
    r += static_cast<char>(data_out.size());
    std::string c(16, '\0');
    std::copy(cdb.begin(), cdb.end(), c.begin());
    return r + c + data_out;
  };
  std::string unmap_list(24, '\0');
  unmap_list[1] = 22, unmap_list[3] = 16, unmap_list[23] = 8;  // 8 blocks at LBA 0
  std::string pr_register(24, '\0');
  pr_register[15] = 1;  // service action key 1
  const std::string seeds[] = {
      record(0, {0x12, 0, 0, 0, 96, 0}) + record(0, {0x12, 1, 0xb0, 0, 64, 0}),
      record(3, {0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}),
      record(1, {0x2a, 0, 0, 0, 0, 8, 0, 0, 1, 0}, std::string(512, 'w')) +
          record(1, {0x28, 0, 0, 0, 0, 8, 0, 0, 1, 0}),
      record(3, {0x93, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0}, std::string(512, '\0')),
      record(1, {0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0}, unmap_list),
      record(3, {0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}, std::string(1024, '\0')),
      record(1, {0x5f, 0x00, 0, 0, 0, 0, 0, 0, 24, 0}, pr_register) +
          record(1, {0x5e, 0x00, 0, 0, 0, 0, 0, 0x10, 0, 0}),
      record(0, {0x1a, 0, 0x3f, 0, 0xff, 0}) + record(3, {0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}),
      record(3, {0x9e, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 24, 0, 0}),
  };
  int n = 0;
  for (const auto& s : seeds) Write(dir + "/seed" + std::to_string(n++), s);
}

// api_input_fuzz: selectors, YAML and JSON objects, each behind its mode byte.
void ApiSeeds(const std::string& dir) {
  const std::pair<char, std::string> seeds[] = {
      {0, "app=cstor,tier!=web,env in (prod, staging),!legacy,zone"},
      {1, "metadata.name=vol1,status.phase!=Offline"},
      {2, "apiVersion: v1\nkind: Config\nclusters:\n  - name: c\n    cluster: {server: "
          "\"https://127.0.0.1:6443\", insecure-skip-tls-verify: true}\n---\na: [1, 2.5, "
          "0x1f, ~, 'quoted', \"007\", yes]\nb: |\n  block\n"},
      {3, R"({"apiVersion":"cstor.openebs.io/v1","kind":"CStorVolumeReplica","metadata":{"name":"r"},)"
          R"("spec":{"capacity":"10Gi","replicaid":"AB","blockSize":4096,"extra":1},"status":{"phase":"Healthy"}})"},
      {3, R"([{"op":"add","path":"/spec/x","value":1},{"op":"test","path":"/spec/capacity","value":"10Gi"}])"},
  };
  int n = 0;
  for (const auto& [mode, text] : seeds) Write(dir + "/seed" + std::to_string(n++), std::string(1, mode) + text);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_seeds FUZZER DIR\n");
    return 2;
  }
  const std::string fuzzer = argv[1], dir = argv[2];
  if (fuzzer == "iscsi_pdu_fuzz") return IscsiSeeds(dir), 0;
  if (fuzzer == "scsi_cdb_fuzz") return ScsiSeeds(dir), 0;
  if (fuzzer == "api_input_fuzz") return ApiSeeds(dir), 0;
  if (fuzzer != "replication_frame_fuzz") {
    std::fprintf(stderr, "make_seeds: no seeds for %s\n", fuzzer.c_str());
    return 2;
  }
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
