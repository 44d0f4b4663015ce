#include "base/crc32c.h"

#include <isa-l/crc.h>

#include <algorithm>
#include <climits>

namespace cstor::crc32c {

uint32_t Extend(uint32_t crc, const void* data, size_t n) {
  // ISA-L works on the pre- and post-inverted register and takes an int length.
  uint32_t reg = ~crc;
  auto* p = static_cast<unsigned char*>(const_cast<void*>(data));
  while (n > 0) {
    size_t chunk = std::min<size_t>(n, INT_MAX & ~size_t{4095});
    reg = crc32_iscsi(p, static_cast<int>(chunk), reg);
    p += chunk;
    n -= chunk;
  }
  return ~reg;
}

}  // namespace cstor::crc32c
