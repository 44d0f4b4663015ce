#include "scsi/reservations.h"

namespace cstor::scsi {
namespace {

enum ServiceAction : uint8_t {
  kRegister = 0,
  kReserve = 1,
  kRelease = 2,
  kClear = 3,
  kPreempt = 4,
  kPreemptAndAbort = 5,
  kRegisterAndIgnore = 6,
};

bool ValidType(uint8_t t) { return t == 1 || t == 3 || t == 5 || t == 6 || t == 7 || t == 8; }

// The TransportID of an iSCSI initiator port (SPC-4 7.6.4.6, format 01b): its name with
// ",i,0x<isid>", NUL-terminated and padded to a multiple of 4.
std::string TransportId(const std::string& nexus) {
  std::string name = nexus + '\0';
  name.resize((name.size() + 3) / 4 * 4, '\0');
  std::string id(4, '\0');
  id[0] = static_cast<char>(0x40 | 0x05);  // format 01b, protocol iSCSI
  PutBE(&id, 2, name.size(), 2);
  return id + name;
}

}  // namespace

bool Reservations::AllRegistrants() const {
  return reservation_ && (reservation_->type == ReservationType::kWriteExclusiveAllRegistrants ||
                          reservation_->type == ReservationType::kExclusiveAccessAllRegistrants);
}

bool Reservations::RegistrantsOnly() const {
  return reservation_ &&
         (reservation_->type == ReservationType::kWriteExclusiveRegistrantsOnly ||
          reservation_->type == ReservationType::kExclusiveAccessRegistrantsOnly);
}

bool Reservations::IsHolder(const std::string& nexus) const {
  if (!reservation_) return false;
  if (AllRegistrants()) return keys_.contains(nexus);
  return reservation_->nexus == nexus;
}

bool Reservations::Conflicts(const std::string& nexus, Access access) const {
  if (!reservation_ || access == Access::kAlways || IsHolder(nexus)) return false;
  const bool exclusive_access = reservation_->type == ReservationType::kExclusiveAccess ||
                                reservation_->type == ReservationType::kExclusiveAccessRegistrantsOnly ||
                                reservation_->type == ReservationType::kExclusiveAccessAllRegistrants;
  // Registrants share the access of the registrants-only and all-registrants types.
  if ((RegistrantsOnly() || AllRegistrants()) && keys_.contains(nexus)) return false;
  return access == Access::kWrite || exclusive_access;
}

Response Reservations::Out(const std::string& nexus, const Command& cmd,
                           std::vector<Attention>* attentions) {
  const uint8_t sa = cmd.cdb[1] & 0x1f;
  const uint8_t scope = cmd.cdb[2] >> 4;
  const uint8_t type = cmd.cdb[2] & 0x0f;
  const uint32_t length = static_cast<uint32_t>(GetBE(cmd.cdb.data() + 5, 4));
  if (sa > kRegisterAndIgnore) return Response::Check(Sense::InvalidFieldInCdb(1, 4));
  if (length != 24) return Response::Check(Sense::ParameterListLengthError());
  if (cmd.data_out.size() < 24) return Response::Check(Sense::ParameterListLengthError());
  const std::string_view p = cmd.data_out;
  const uint64_t key = GetBE(p, 0, 8);
  const uint64_t sa_key = GetBE(p, 8, 8);
  const uint8_t flags = static_cast<uint8_t>(p[20]);
  if (flags & 0x08) return Response::Check(Sense::InvalidFieldInParameterList(20, 3));  // SPEC_I_PT
  if (flags & 0x01) return Response::Check(Sense::InvalidFieldInParameterList(20, 0));  // APTPL
  const bool needs_type = sa == kReserve || sa == kRelease || sa == kPreempt || sa == kPreemptAndAbort;
  if (needs_type && (scope != 0 || !ValidType(type))) {
    return Response::Check(Sense::InvalidFieldInCdb(2, scope != 0 ? 7 : 3));
  }
  if (sa == kRegister || sa == kRegisterAndIgnore) {
    return Register(nexus, key, sa_key, sa == kRegisterAndIgnore, attentions);
  }
  // Every other action needs the nexus registered under the key it gives.
  auto it = keys_.find(nexus);
  if (it == keys_.end() || it->second != key) return Response::Conflict();
  const auto rtype = static_cast<ReservationType>(type);
  switch (sa) {
    case kReserve: return Reserve(nexus, rtype);
    case kRelease: return Release(nexus, rtype, attentions);
    case kClear: return Clear(nexus, attentions);
    default: return Preempt(nexus, sa_key, rtype, attentions);
  }
}

Response Reservations::Register(const std::string& nexus, uint64_t key, uint64_t new_key,
                                bool ignore_key, std::vector<Attention>* attentions) {
  auto it = keys_.find(nexus);
  if (it == keys_.end()) {
    if (!ignore_key && key != 0) return Response::Conflict();
    if (new_key == 0) return Response::Good();
    keys_[nexus] = new_key;
  } else {
    if (!ignore_key && it->second != key) return Response::Conflict();
    if (new_key == 0) {
      Unregister(nexus, attentions);
    } else {
      it->second = new_key;
    }
  }
  generation_++;
  return Response::Good();
}

void Reservations::Unregister(const std::string& nexus, std::vector<Attention>* attentions) {
  const bool held = reservation_ && IsHolder(nexus);
  keys_.erase(nexus);
  if (!held) return;
  // The holder's reservation goes with its registration, except an all-registrants one,
  // which lasts while any registrant remains.
  if (AllRegistrants() && !keys_.empty()) return;
  const bool notify = RegistrantsOnly();
  reservation_.reset();
  if (notify) {
    for (const auto& [n, k] : keys_) attentions->push_back({n, Sense::ReservationsReleased()});
  }
}

Response Reservations::Reserve(const std::string& nexus, ReservationType type) {
  if (!reservation_) {
    reservation_ = Holder{nexus, type};
    return Response::Good();
  }
  if (IsHolder(nexus) && reservation_->type == type) return Response::Good();
  return Response::Conflict();
}

Response Reservations::Release(const std::string& nexus, ReservationType type,
                               std::vector<Attention>* attentions) {
  if (!reservation_ || !IsHolder(nexus)) return Response::Good();
  if (reservation_->type != type) return Response::Check(Sense::InvalidReleaseOfReservation());
  const bool notify = reservation_->type != ReservationType::kWriteExclusive &&
                      reservation_->type != ReservationType::kExclusiveAccess;
  reservation_.reset();
  if (notify) {
    for (const auto& [n, k] : keys_) {
      if (n != nexus) attentions->push_back({n, Sense::ReservationsReleased()});
    }
  }
  return Response::Good();
}

Response Reservations::Clear(const std::string& nexus, std::vector<Attention>* attentions) {
  for (const auto& [n, k] : keys_) {
    if (n != nexus) attentions->push_back({n, Sense::ReservationsPreempted()});
  }
  keys_.clear();
  reservation_.reset();
  generation_++;
  return Response::Good();
}

Response Reservations::Preempt(const std::string& nexus, uint64_t victim, ReservationType type,
                               std::vector<Attention>* attentions) {
  auto remove_matching = [&](bool keep_self) {
    size_t removed = 0;
    for (auto it = keys_.begin(); it != keys_.end();) {
      bool match = victim == 0 ? AllRegistrants() : it->second == victim;
      if (match && !(keep_self && it->first == nexus)) {
        if (it->first != nexus) attentions->push_back({it->first, Sense::RegistrationsPreempted()});
        it = keys_.erase(it);
        removed++;
      } else {
        ++it;
      }
    }
    return removed;
  };
  if (reservation_ && AllRegistrants() && victim == 0) {
    // Zero names every other registrant: they all go, the preempter holds the new type.
    remove_matching(/*keep_self=*/true);
    reservation_ = Holder{nexus, type};
    generation_++;
    return Response::Good();
  }
  if (victim == 0) return Response::Check(Sense::InvalidFieldInParameterList(8));
  const bool takes_reservation =
      reservation_ && !AllRegistrants() && keys_.contains(reservation_->nexus) &&
      keys_.at(reservation_->nexus) == victim;
  if (!takes_reservation) {
    if (remove_matching(/*keep_self=*/false) == 0) return Response::Conflict();
    generation_++;
    return Response::Good();
  }
  remove_matching(/*keep_self=*/true);
  reservation_ = Holder{nexus, type};
  generation_++;
  return Response::Good();
}

Response Reservations::In(const Command& cmd) const {
  switch (cmd.cdb[1] & 0x1f) {
    case 0: return Response::Good(ReadKeys());
    case 1: return Response::Good(ReadReservation());
    case 2: return Response::Good(ReportCapabilities());
    case 3: return Response::Good(ReadFullStatus());
    default: return Response::Check(Sense::InvalidFieldInCdb(1, 4));
  }
}

std::string Reservations::ReadKeys() const {
  std::string out;
  AppendBE(&out, generation_, 4);
  AppendBE(&out, keys_.size() * 8, 4);
  for (const auto& [n, k] : keys_) AppendBE(&out, k, 8);
  return out;
}

std::string Reservations::ReadReservation() const {
  std::string out;
  AppendBE(&out, generation_, 4);
  if (!reservation_) {
    AppendBE(&out, 0, 4);
    return out;
  }
  AppendBE(&out, 16, 4);
  auto it = keys_.find(reservation_->nexus);
  uint64_t key = AllRegistrants() || it == keys_.end() ? 0 : it->second;
  AppendBE(&out, key, 8);
  AppendBE(&out, 0, 4);  // obsolete
  out += '\0';
  out += static_cast<char>(static_cast<uint8_t>(reservation_->type));  // scope 0: LU
  AppendBE(&out, 0, 2);
  return out;
}

std::string Reservations::ReportCapabilities() const {
  std::string out(8, '\0');
  out[1] = 8;
  out[2] = static_cast<char>(0x10);  // CRH: RESERVE(6)/(10) yield to persistent reservations
  out[3] = static_cast<char>(0x80);  // TMV: the type mask below is valid
  out[4] = static_cast<char>(0x80 | 0x40 | 0x20 | 0x08 | 0x02);
  out[5] = static_cast<char>(0x01);
  return out;
}

std::string Reservations::ReadFullStatus() const {
  std::string body;
  for (const auto& [nexus, key] : keys_) {
    std::string d(24, '\0');
    PutBE(&d, 0, key, 8);
    const bool holder = IsHolder(nexus);
    d[12] = static_cast<char>(holder ? 0x01 : 0);  // R_HOLDER
    if (holder) d[13] = static_cast<char>(static_cast<uint8_t>(reservation_->type));
    PutBE(&d, 18, 1, 2);  // relative target port identifier
    std::string tid = TransportId(nexus);
    PutBE(&d, 20, tid.size(), 4);
    body += d + tid;
  }
  std::string out;
  AppendBE(&out, generation_, 4);
  AppendBE(&out, body.size(), 4);
  return out + body;
}

}  // namespace cstor::scsi
