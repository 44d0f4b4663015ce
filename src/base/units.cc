#include "base/units.h"

#include <cctype>
#include <fmt/format.h>

namespace cstor {

Result<uint64_t> ParseSize(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(
        fmt::format("bad size '{}': {} (expected e.g. 4096, 64K, 10G, 1TiB)", text, why));
  };
  size_t i = 0;
  uint64_t value = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) return bad("too large");
    value = value * 10 + digit;
    i++;
  }
  if (i == 0) return bad("no number");
  std::string suffix;
  for (char c : text.substr(i)) suffix.push_back(static_cast<char>(std::toupper(c)));
  uint64_t mult = 1;
  if (suffix.empty() || suffix == "B") {
    mult = 1;
  } else {
    static constexpr std::string_view kUnits = "KMGTP";
    size_t pos = kUnits.find(suffix[0]);
    std::string_view rest = std::string_view(suffix).substr(1);
    if (pos == std::string_view::npos || !(rest.empty() || rest == "B" || rest == "IB")) {
      return bad("unknown unit");
    }
    for (size_t k = 0; k <= pos; k++) mult *= 1024;
  }
  if (value != 0 && mult > UINT64_MAX / value) return bad("too large");
  return value * mult;
}

std::string FormatBytes(uint64_t bytes) {
  static constexpr const char* kNames[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 5) {
    v /= 1024;
    unit++;
  }
  if (v == static_cast<double>(static_cast<uint64_t>(v))) {
    return fmt::format("{} {}", static_cast<uint64_t>(v), kNames[unit]);
  }
  return fmt::format("{:.2f} {}", v, kNames[unit]);
}

}  // namespace cstor
