// Kubernetes resource quantities ("10Gi", "500M", "1.5Ti", "100m", "1e9"): parsed exactly,
// compared, and written back in the canonical binary form storage sizes use.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace cstor::api {

class Quantity {
 public:
  // The Kubernetes grammar: an optionally signed decimal number, then one suffix: a binary
  // one (Ki Mi Gi Ti Pi Ei), a decimal one (n u m k M G T P E, or none), or a decimal
  // exponent (e3, E-2). Anything else, or a value beyond about 10^27, is an error.
  static Result<Quantity> Parse(std::string_view text);
  static Quantity FromInt(int64_t units) { return Quantity(static_cast<__int128>(units) * kNano); }

  // Whole units, rounded up (a fraction of a byte is a byte); saturates at INT64_MAX.
  int64_t CeilUnits() const;
  bool IsZero() const { return nanos_ == 0; }
  bool IsNegative() const { return nanos_ < 0; }

  friend bool operator==(const Quantity&, const Quantity&) = default;
  friend auto operator<=>(const Quantity& a, const Quantity& b) { return a.nanos_ <=> b.nanos_; }

 private:
  static constexpr __int128 kNano = 1'000'000'000;
  explicit Quantity(__int128 nanos) : nanos_(nanos) {}
  __int128 nanos_ = 0;  // the value in units of 10^-9
};

// Bytes as Kubernetes users write them: "10Gi" when the value is a whole number of a
// binary unit, otherwise the plain number ("1000").
std::string FormatBytes(int64_t bytes);

}  // namespace cstor::api
