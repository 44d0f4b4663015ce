// A SCSI command as the transport hands it to a logical unit, and the answer it gets back.
// The transport (iSCSI) has already collected every byte of Data-Out the initiator sent;
// the logical unit returns Data-In and the transport trims it to what the initiator
// expects, reporting residuals.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "scsi/sense.h"

namespace cstor::scsi {

struct Command {
  std::array<uint8_t, 16> cdb{};
  uint8_t cdb_length = 0;  // the length the transport received (6..16)
  std::string data_out;
  // The I_T nexus the command came through, e.g. "iqn.1994-05.com.redhat:x,i,0x23d000000001"
  // (initiator port name); reservations and unit attentions are kept per nexus.
  std::string nexus;
  uint8_t opcode() const { return cdb[0]; }
};

struct Response {
  ScsiStatus status = ScsiStatus::kGood;
  std::string data;                  // Data-In
  std::optional<Sense> sense;        // with kCheckCondition
  static Response Good(std::string data = {}) { return {ScsiStatus::kGood, std::move(data), {}}; }
  static Response Check(Sense s) { return {ScsiStatus::kCheckCondition, {}, s}; }
  static Response Conflict() { return {ScsiStatus::kReservationConflict, {}, {}}; }
};

using Completion = std::function<void(Response)>;

// Big-endian field access for CDBs and parameter data.
inline uint64_t GetBE(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v = (v << 8) | p[i];
  return v;
}
inline uint64_t GetBE(std::string_view s, size_t at, int bytes) {
  return GetBE(reinterpret_cast<const uint8_t*>(s.data()) + at, bytes);
}
inline void PutBE(std::string* s, size_t at, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; i--, v >>= 8) (*s)[at + i] = static_cast<char>(v & 0xff);
}
inline void AppendBE(std::string* s, uint64_t v, int bytes) {
  s->resize(s->size() + bytes);
  PutBE(s, s->size() - bytes, v, bytes);
}

}  // namespace cstor::scsi
