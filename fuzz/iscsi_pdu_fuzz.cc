// libFuzzer target: arbitrary bytes into the iSCSI PDU parser, in arbitrary chunks and with
// arbitrary digest settings; every PDU it accepts goes through the text-key parser and, if
// it is a login request, through a target's login state machine (with CHAP configured).
// Nothing may crash, hang or read out of bounds, and every accepted PDU must survive an
// encode/parse round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>

#include "iscsi/login.h"
#include "iscsi/pdu.h"

namespace {

using namespace cstor::iscsi;

void CheckRoundTrip(const Pdu& pdu, bool header_digest, bool data_digest) {
  std::string wire;
  pdu.AppendTo(&wire, header_digest, data_digest);
  PduParser parser(1 << 24);
  parser.SetDigests(header_digest, data_digest);
  Pdu again;
  auto used = parser.Parse(wire, &again);
  // Bytes 4..7 (the AHS and data segment lengths) are written by AppendTo from the PDU's
  // contents; a PDU built in memory may leave them zero.
  auto header = [](const Pdu& p) {
    auto h = p.bhs;
    std::fill(h.begin() + 4, h.begin() + 8, 0);
    return h;
  };
  if (!used.ok() || *used != wire.size() || header(again) != header(pdu) ||
      again.ahs != pdu.ahs || again.data != pdu.data) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // Byte 0: digests and the data segment limit; byte 1: the chunk size of the reads.
  const bool header_digest = data[0] & 1, data_digest = data[0] & 2;
  const uint32_t max_data = (data[0] & 4) ? 8192 : 262144;
  const size_t chunk = 1 + data[1] % 97;
  PduParser parser(max_data);
  parser.SetDigests(header_digest, data_digest);

  TargetConfig config;
  config.name = "iqn.2016-09.com.openebs.cstor:fuzz";
  config.chap = ChapSecret{"initiator", "secret-of-16-byt"};
  if (data[0] & 8) config.mutual = ChapSecret{"target", "another-secret-16"};
  Login login(config);
  bool login_over = false;

  std::string buffer;
  for (size_t at = 2; at < size; at += chunk) {
    buffer.append(reinterpret_cast<const char*>(data + at), std::min(chunk, size - at));
    while (true) {
      Pdu pdu;
      auto used = parser.Parse(buffer, &pdu);
      if (!used.ok()) return 0;  // fatal to a connection: it would close here
      if (*used == 0) break;
      buffer.erase(0, *used);
      CheckRoundTrip(pdu, header_digest, data_digest);
      (void)ParseText(pdu.data);
      if (pdu.opcode() == Opcode::kLogin && !login_over) {
        Pdu response;
        login_over = login.Handle(pdu, &response) != Login::Outcome::kContinue;
        CheckRoundTrip(response, false, false);
      }
    }
  }
  return 0;
}
