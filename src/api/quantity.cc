#include "api/quantity.h"

#include <limits>

namespace cstor::api {
namespace {

constexpr __int128 kLimit = static_cast<__int128>(1) << 100;  // ~1.3e30 nano-units

}  // namespace

Result<Quantity> Quantity::Parse(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("quantities must match the regular expression "
                                   "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': \"" +
                                   std::string(text) + "\"");
  };
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  __int128 whole = 0, frac = 0, frac_scale = 1;
  size_t digits = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
    whole = whole * 10 + (text[i] - '0');
    if (whole > kLimit) return bad();
  }
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
      if (frac_scale < static_cast<__int128>(1'000'000'000'000'000'000)) {
        frac = frac * 10 + (text[i] - '0');
        frac_scale *= 10;
      }
    }
  }
  if (digits == 0) return bad();
  const std::string_view suffix = text.substr(i);
  // The multiplier as num/den, applied to whole + frac/frac_scale, in nano-units.
  __int128 num = kNano, den = 1;
  auto pow = [](__int128 base, int n) {
    __int128 r = 1;
    while (n-- > 0) r *= base;
    return r;
  };
  static constexpr std::string_view kBinary[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  static constexpr std::string_view kDecimal[] = {"k", "M", "G", "T", "P", "E"};
  bool known = suffix.empty();
  for (int k = 0; k < 6 && !known; ++k) {
    if (suffix == kBinary[k]) num *= pow(1024, k + 1), known = true;
    if (suffix == kDecimal[k]) num *= pow(1000, k + 1), known = true;
  }
  if (!known && suffix == "m") num /= 1000, known = true;
  if (!known && suffix == "u") num /= 1'000'000, known = true;
  if (!known && suffix == "n") num = 1, known = true;
  if (!known && (suffix[0] == 'e' || suffix[0] == 'E')) {
    std::string_view e = suffix.substr(1);
    bool neg = false;
    if (!e.empty() && (e[0] == '+' || e[0] == '-')) neg = e[0] == '-', e.remove_prefix(1);
    if (e.empty() || e.size() > 2) return bad();
    int n = 0;
    for (char c : e) {
      if (c < '0' || c > '9') return bad();
      n = n * 10 + (c - '0');
    }
    if (n > 27) return bad();
    if (neg) {
      den = pow(10, n);
    } else {
      num *= pow(10, n);
    }
    known = true;
  }
  if (!known) return bad();
  if (whole > 0 && num / den > kLimit / whole) return bad();
  // Fractions below a nano-unit round up, as Kubernetes rounds a quantity it stores.
  __int128 value = whole * num / den;
  __int128 frac_part = frac * num;
  __int128 frac_den = frac_scale * den;
  value += (frac_part + frac_den - 1) / frac_den;
  if (whole * num % den != 0) value += 1;
  if (value > kLimit) return bad();
  return Quantity(negative ? -value : value);
}

int64_t Quantity::CeilUnits() const {
  __int128 units = nanos_ / kNano;
  if (nanos_ % kNano > 0) units += 1;
  if (units > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  if (units < std::numeric_limits<int64_t>::min()) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(units);
}

std::string FormatBytes(int64_t bytes) {
  static constexpr const char* kUnits[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  if (bytes == 0) return "0";
  int unit = -1;
  int64_t v = bytes;
  while (unit < 5 && v % 1024 == 0) {
    v /= 1024;
    ++unit;
  }
  return unit < 0 ? std::to_string(bytes) : std::to_string(v) + kUnits[unit];
}

}  // namespace cstor::api
