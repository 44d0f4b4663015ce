// Human-friendly sizes: parse "10G", "512KiB", "4096" and print "1.5 GiB".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace cstor {

inline constexpr uint64_t kKiB = 1024;
inline constexpr uint64_t kMiB = 1024 * kKiB;
inline constexpr uint64_t kGiB = 1024 * kMiB;
inline constexpr uint64_t kTiB = 1024 * kGiB;

// Accepts a decimal integer with an optional binary suffix: K, KB, KiB, M, ..., T (case
// insensitive; all are powers of 1024). Rejects empty, negative, fractional and
// overflowing input with a message that quotes it.
Result<uint64_t> ParseSize(std::string_view text);

// "0 B", "4 KiB", "1.50 GiB".
std::string FormatBytes(uint64_t bytes);

}  // namespace cstor
