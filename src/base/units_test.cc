#include "base/units.h"

#include <gtest/gtest.h>

namespace cstor {
namespace {

TEST(UnitsTest, ParsesSuffixes) {
  EXPECT_EQ(*ParseSize("4096"), 4096u);
  EXPECT_EQ(*ParseSize("4k"), 4096u);
  EXPECT_EQ(*ParseSize("64KiB"), 65536u);
  EXPECT_EQ(*ParseSize("10G"), 10 * kGiB);
  EXPECT_EQ(*ParseSize("1TB"), kTiB);
  EXPECT_EQ(*ParseSize("0"), 0u);
}

TEST(UnitsTest, RejectsGarbageWithMessage) {
  for (const char* bad : {"", "G", "-1", "1.5G", "12X", "1GG", "99999999999999999999"}) {
    auto r = ParseSize(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(r.status().Is(Code::kInvalidArgument));
    EXPECT_NE(r.status().message().find("bad size"), std::string::npos);
  }
  EXPECT_FALSE(ParseSize("17000000000000P").ok());  // overflows after the multiply
}

TEST(UnitsTest, Formats) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(4096), "4 KiB");
  EXPECT_EQ(FormatBytes(3 * kGiB / 2), "1.50 GiB");
}

}  // namespace
}  // namespace cstor
