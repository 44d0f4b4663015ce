#include "scsi/sense.h"

#include <fmt/format.h>

namespace cstor::scsi {

std::string Sense::Encode() const {
  std::string s(18, '\0');
  s[0] = static_cast<char>(0x70 | (information ? 0x80 : 0));  // current error; VALID
  s[2] = static_cast<char>(key);
  if (information) {
    uint32_t info = static_cast<uint32_t>(std::min<uint64_t>(*information, 0xffffffff));
    for (int i = 0; i < 4; i++) s[3 + i] = static_cast<char>(info >> (24 - 8 * i));
  }
  s[7] = 10;  // additional sense length
  s[12] = static_cast<char>(asc);
  s[13] = static_cast<char>(ascq);
  if (field) {
    uint8_t b = 0x80;  // SKSV
    if (field->in_cdb) b |= 0x40;
    if (field->bit) b |= static_cast<uint8_t>(0x08 | (*field->bit & 7));
    s[15] = static_cast<char>(b);
    s[16] = static_cast<char>(field->byte >> 8);
    s[17] = static_cast<char>(field->byte);
  }
  return s;
}

std::string Sense::ToString() const {
  return fmt::format("sense key {:#x} asc/ascq {:02x}/{:02x}", static_cast<int>(key), asc, ascq);
}

Sense SenseForDeviceError(const Status& s, bool write) {
  switch (s.code()) {
    case Code::kUnavailable:
    case Code::kAborted: return Sense::BecomingReady();
    case Code::kNoSpace: return Sense::NoSpace();
    case Code::kReadOnly: return Sense::WriteProtected();
    case Code::kOutOfRange: return Sense::LbaOutOfRange();
    case Code::kCorruption:
    case Code::kIoError: return write ? Sense::WriteError() : Sense::UnrecoveredReadError();
    default: return Sense::InternalTargetFailure();
  }
}

}  // namespace cstor::scsi
