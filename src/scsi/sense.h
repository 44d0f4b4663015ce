// SCSI status and sense data (SPC-4 4.5): what a command answers when it does not simply
// succeed. Sense is built from named conditions so that the command code reads like the
// standard ("LBA out of range"), and encoded in fixed format (response code 0x70).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/status.h"

namespace cstor::scsi {

enum class ScsiStatus : uint8_t {
  kGood = 0x00,
  kCheckCondition = 0x02,
  kBusy = 0x08,
  kReservationConflict = 0x18,
  kTaskSetFull = 0x28,
  kTaskAborted = 0x40,
};

enum class SenseKey : uint8_t {
  kNoSense = 0x0,
  kNotReady = 0x2,
  kMediumError = 0x3,
  kHardwareError = 0x4,
  kIllegalRequest = 0x5,
  kUnitAttention = 0x6,
  kDataProtect = 0x7,
  kAbortedCommand = 0xb,
  kMiscompare = 0xe,
};

struct Sense {
  SenseKey key = SenseKey::kNoSense;
  uint8_t asc = 0;
  uint8_t ascq = 0;
  std::optional<uint64_t> information;  // e.g. the offset of a miscompare
  // Sense-key specific field pointer (for INVALID FIELD IN CDB / PARAMETER LIST).
  struct Field {
    bool in_cdb;
    uint16_t byte;
    std::optional<uint8_t> bit;
  };
  std::optional<Field> field;

  // 18 bytes of fixed-format sense data.
  std::string Encode() const;
  std::string ToString() const;

  static Sense Of(SenseKey key, uint8_t asc, uint8_t ascq) {
    Sense s;
    s.key = key;
    s.asc = asc;
    s.ascq = ascq;
    return s;
  }
  // The conditions cstor reports, by their names in SPC-4 / SBC-3.
  static Sense InvalidOpcode() { return Of(SenseKey::kIllegalRequest, 0x20, 0x00); }
  static Sense LbaOutOfRange() { return Of(SenseKey::kIllegalRequest, 0x21, 0x00); }
  static Sense InvalidFieldInCdb(uint16_t byte, std::optional<uint8_t> bit = std::nullopt) {
    Sense s = Of(SenseKey::kIllegalRequest, 0x24, 0x00);
    s.field = Field{true, byte, bit};
    return s;
  }
  static Sense InvalidFieldInParameterList(uint16_t byte,
                                           std::optional<uint8_t> bit = std::nullopt) {
    Sense s = Of(SenseKey::kIllegalRequest, 0x26, 0x00);
    s.field = Field{false, byte, bit};
    return s;
  }
  static Sense ParameterListLengthError() { return Of(SenseKey::kIllegalRequest, 0x1a, 0x00); }
  static Sense LunNotSupported() { return Of(SenseKey::kIllegalRequest, 0x25, 0x00); }
  static Sense SavingParametersNotSupported() { return Of(SenseKey::kIllegalRequest, 0x39, 0x00); }
  static Sense InvalidReleaseOfReservation() { return Of(SenseKey::kIllegalRequest, 0x26, 0x04); }
  static Sense InsufficientRegistrationResources() {
    return Of(SenseKey::kIllegalRequest, 0x55, 0x04);
  }
  static Sense Miscompare(uint64_t offset) {
    Sense s = Of(SenseKey::kMiscompare, 0x1d, 0x00);
    s.information = offset;
    return s;
  }
  static Sense UnrecoveredReadError() { return Of(SenseKey::kMediumError, 0x11, 0x00); }
  static Sense WriteError() { return Of(SenseKey::kMediumError, 0x0c, 0x00); }
  static Sense NoSpace() { return Of(SenseKey::kDataProtect, 0x27, 0x07); }  // space allocation failed
  static Sense WriteProtected() { return Of(SenseKey::kDataProtect, 0x27, 0x00); }
  static Sense NotReady() { return Of(SenseKey::kNotReady, 0x04, 0x01); }  // becoming ready
  // NOT READY, LOGICAL UNIT IS IN PROCESS OF BECOMING READY: the device cannot serve IO
  // now but expects to (a replicated volume waiting for a quorum). Initiators retry it
  // after a delay (Linux for the command's whole timeout); 04/00 would fail the IO at once.
  static Sense BecomingReady() { return Of(SenseKey::kNotReady, 0x04, 0x01); }
  static Sense DataPhaseError() { return Of(SenseKey::kAbortedCommand, 0x4b, 0x00); }
  static Sense InternalTargetFailure() { return Of(SenseKey::kHardwareError, 0x44, 0x00); }
  static Sense PowerOnOrReset() { return Of(SenseKey::kUnitAttention, 0x29, 0x00); }
  static Sense CapacityChanged() { return Of(SenseKey::kUnitAttention, 0x2a, 0x09); }
  static Sense ModeParametersChanged() { return Of(SenseKey::kUnitAttention, 0x2a, 0x01); }
  static Sense ReservationsPreempted() { return Of(SenseKey::kUnitAttention, 0x2a, 0x03); }
  static Sense ReservationsReleased() { return Of(SenseKey::kUnitAttention, 0x2a, 0x04); }
  static Sense RegistrationsPreempted() { return Of(SenseKey::kUnitAttention, 0x2a, 0x05); }
};

// What a device error means to an initiator: medium errors for corruption and IO errors,
// NOT READY for an offline volume (so initiators retry), DATA PROTECT for no space.
Sense SenseForDeviceError(const Status& s, bool write);

}  // namespace cstor::scsi
