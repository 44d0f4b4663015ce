#include "base/crc32c.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cstor {
namespace {

TEST(Crc32cTest, KnownVectors) {
  // RFC 3720 (iSCSI) appendix B.4 and the common check value.
  EXPECT_EQ(crc32c::Value("123456789", 9), 0xE3069283u);
  std::vector<unsigned char> zeros(32, 0);
  EXPECT_EQ(crc32c::Value(zeros.data(), zeros.size()), 0x8A9136AAu);
  std::vector<unsigned char> ones(32, 0xff);
  EXPECT_EQ(crc32c::Value(ones.data(), ones.size()), 0x62A8AB43u);
  std::vector<unsigned char> inc(32);
  for (int i = 0; i < 32; i++) inc[i] = static_cast<unsigned char>(i);
  EXPECT_EQ(crc32c::Value(inc.data(), inc.size()), 0x46DD794Eu);
  EXPECT_EQ(crc32c::Value("", 0), 0u);
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  std::string data(10000, 'x');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i * 7);
  uint32_t whole = crc32c::Value(data.data(), data.size());
  for (size_t split : {0ul, 1ul, 7ul, 4096ul, 9999ul}) {
    uint32_t crc = crc32c::Extend(0, data.data(), split);
    crc = crc32c::Extend(crc, data.data() + split, data.size() - split);
    EXPECT_EQ(crc, whole) << "split " << split;
  }
}

}  // namespace
}  // namespace cstor
