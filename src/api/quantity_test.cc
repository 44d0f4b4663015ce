#include "api/quantity.h"

#include <gtest/gtest.h>

namespace cstor::api {
namespace {

int64_t Units(std::string_view s) {
  auto q = Quantity::Parse(s);
  EXPECT_TRUE(q.ok()) << s;
  return q.ok() ? q->CeilUnits() : -1;
}

TEST(QuantityTest, SuffixesAndFractions) {
  EXPECT_EQ(Units("10Gi"), int64_t{10} << 30);
  EXPECT_EQ(Units("1.5Gi"), int64_t{3} << 29);
  EXPECT_EQ(Units("500M"), 500'000'000);
  EXPECT_EQ(Units("1e9"), 1'000'000'000);
  EXPECT_EQ(Units("1E3"), 1000);
  EXPECT_EQ(Units("2"), 2);
  EXPECT_EQ(Units("+4Ki"), 4096);
  EXPECT_EQ(Units(".5Ki"), 512);
  EXPECT_EQ(Units("100m"), 1);   // a tenth of a unit rounds up to one
  EXPECT_EQ(Units("1500m"), 2);
  EXPECT_EQ(Units("3n"), 1);
  EXPECT_EQ(Units("0"), 0);
  EXPECT_EQ(Units("8Ei"), INT64_MAX);  // saturates
  EXPECT_TRUE(Quantity::Parse("-1Gi")->IsNegative());
  EXPECT_LT(*Quantity::Parse("1G"), *Quantity::Parse("1Gi"));
  EXPECT_EQ(*Quantity::Parse("1024Ki"), *Quantity::Parse("1Mi"));
}

TEST(QuantityTest, RejectsWhatKubernetesRejects) {
  for (const char* s : {"", "Gi", "1 Gi", "1gi", "1GB", "1.2.3", "1e", "1e999", "abc", "--1",
                        "99999999999999999999999999999999Ei"}) {
    EXPECT_FALSE(Quantity::Parse(s).ok()) << s;
  }
}

TEST(QuantityTest, FormatsBytesInTheLargestWholeBinaryUnit) {
  EXPECT_EQ(FormatBytes(int64_t{10} << 30), "10Gi");
  EXPECT_EQ(FormatBytes(int64_t{3} << 29), "1536Mi");
  EXPECT_EQ(FormatBytes(1000), "1000");
  EXPECT_EQ(FormatBytes(0), "0");
}

}  // namespace
}  // namespace cstor::api
