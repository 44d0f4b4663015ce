// Persistent reservations (SPC-4 5.13): registrations of reservation keys per I_T nexus,
// one reservation of one of six types, and the conflict rules that follow. Pure state: the
// logical unit feeds it PERSISTENT RESERVE IN/OUT and asks it whether a command conflicts.
//
// Kept in memory: a restarted target forgets them (APTPL is not supported and REPORT
// CAPABILITIES says so).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scsi/command.h"

namespace cstor::scsi {

// How a command is treated while a reservation is held (SPC-4 table 58, simplified to
// three classes).
enum class Access : uint8_t {
  kAlways,  // allowed under every reservation (INQUIRY, REPORT LUNS, TEST UNIT READY, ...)
  kRead,    // reads the medium
  kWrite,   // changes the medium or the unit's state
};

enum class ReservationType : uint8_t {
  kWriteExclusive = 1,
  kExclusiveAccess = 3,
  kWriteExclusiveRegistrantsOnly = 5,
  kExclusiveAccessRegistrantsOnly = 6,
  kWriteExclusiveAllRegistrants = 7,
  kExclusiveAccessAllRegistrants = 8,
};

class Reservations {
 public:
  // A unit attention owed to a nexus because of a change another nexus made.
  struct Attention {
    std::string nexus;
    Sense sense;
  };

  // PERSISTENT RESERVE OUT from `nexus`.
  Response Out(const std::string& nexus, const Command& cmd, std::vector<Attention>* attentions);
  // PERSISTENT RESERVE IN.
  Response In(const Command& cmd) const;

  bool Conflicts(const std::string& nexus, Access access) const;
  bool Registered(const std::string& nexus) const { return keys_.contains(nexus); }
  bool HasRegistrations() const { return !keys_.empty(); }

 private:
  struct Holder {
    std::string nexus;  // for the all-registrants types: the nexus that reserved
    ReservationType type;
  };
  bool IsHolder(const std::string& nexus) const;
  bool AllRegistrants() const;
  bool RegistrantsOnly() const;
  Response Register(const std::string& nexus, uint64_t key, uint64_t new_key, bool ignore_key,
                    std::vector<Attention>* attentions);
  Response Reserve(const std::string& nexus, ReservationType type);
  Response Release(const std::string& nexus, ReservationType type,
                   std::vector<Attention>* attentions);
  Response Clear(const std::string& nexus, std::vector<Attention>* attentions);
  Response Preempt(const std::string& nexus, uint64_t victim, ReservationType type,
                   std::vector<Attention>* attentions);
  void Unregister(const std::string& nexus, std::vector<Attention>* attentions);
  std::string ReadKeys() const;
  std::string ReadReservation() const;
  std::string ReportCapabilities() const;
  std::string ReadFullStatus() const;

  std::map<std::string, uint64_t> keys_;  // nexus -> reservation key
  std::optional<Holder> reservation_;
  uint32_t generation_ = 0;
};

}  // namespace cstor::scsi
