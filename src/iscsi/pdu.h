// iSCSI PDUs (RFC 7143 section 11): the 48-byte basic header segment, additional header
// segments, data segment, padding and optional CRC32C digests. Encoding and parsing only.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace cstor::iscsi {

enum class Opcode : uint8_t {
  kNopOut = 0x00,
  kScsiCommand = 0x01,
  kTaskManagement = 0x02,
  kLogin = 0x03,
  kText = 0x04,
  kDataOut = 0x05,
  kLogout = 0x06,
  kSnack = 0x10,
  kNopIn = 0x20,
  kScsiResponse = 0x21,
  kTaskManagementResponse = 0x22,
  kLoginResponse = 0x23,
  kTextResponse = 0x24,
  kDataIn = 0x25,
  kLogoutResponse = 0x26,
  kR2T = 0x31,
  kAsyncMessage = 0x32,
  kReject = 0x3f,
};

inline constexpr size_t kBhsSize = 48;
inline constexpr uint32_t kReservedTag = 0xffffffff;

struct Pdu {
  std::array<uint8_t, kBhsSize> bhs{};
  std::string ahs;
  std::string data;

  Opcode opcode() const { return static_cast<Opcode>(bhs[0] & 0x3f); }
  bool immediate() const { return bhs[0] & 0x40; }
  bool final() const { return bhs[1] & 0x80; }
  uint8_t flags() const { return bhs[1]; }
  uint32_t u32(size_t at) const {
    return uint32_t{bhs[at]} << 24 | uint32_t{bhs[at + 1]} << 16 | uint32_t{bhs[at + 2]} << 8 |
           bhs[at + 3];
  }
  uint16_t u16(size_t at) const { return static_cast<uint16_t>(bhs[at] << 8 | bhs[at + 1]); }
  uint64_t u64(size_t at) const { return uint64_t{u32(at)} << 32 | u32(at + 4); }
  void set_u32(size_t at, uint32_t v) {
    for (int i = 0; i < 4; i++) bhs[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  }
  void set_u16(size_t at, uint16_t v) {
    bhs[at] = static_cast<uint8_t>(v >> 8);
    bhs[at + 1] = static_cast<uint8_t>(v);
  }
  void set_u64(size_t at, uint64_t v) {
    set_u32(at, static_cast<uint32_t>(v >> 32));
    set_u32(at + 4, static_cast<uint32_t>(v));
  }
  uint32_t itt() const { return u32(16); }

  static Pdu Make(Opcode op, uint8_t flags) {
    Pdu p;
    p.bhs[0] = static_cast<uint8_t>(op);
    p.bhs[1] = flags;
    return p;
  }
  // Appends the PDU's wire form: header (+ digest), data, padding (+ digest).
  void AppendTo(std::string* out, bool header_digest, bool data_digest) const;
};

// Parses PDUs out of a byte stream. Digest settings change after login; the parser is told.
class PduParser {
 public:
  // max_data: the largest data segment accepted (our MaxRecvDataSegmentLength).
  explicit PduParser(uint32_t max_data) : max_data_(max_data) {}
  void SetDigests(bool header, bool data) { header_digest_ = header, data_digest_ = data; }
  void SetMaxData(uint32_t max_data) { max_data_ = max_data; }

  // Parses the next PDU from the front of `buffer`; returns how many bytes it used, 0 when
  // more are needed. An error is fatal to the connection.
  Result<size_t> Parse(std::string_view buffer, Pdu* out) const;

 private:
  uint32_t max_data_;
  bool header_digest_ = false;
  bool data_digest_ = false;
};

// Text key=value pairs of login and text PDUs (RFC 7143 section 6), in order.
using TextPairs = std::vector<std::pair<std::string, std::string>>;
Result<TextPairs> ParseText(std::string_view data);
std::string EncodeText(const TextPairs& pairs);

}  // namespace cstor::iscsi
