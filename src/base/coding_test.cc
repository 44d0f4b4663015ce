#include "base/coding.h"

#include <gtest/gtest.h>

namespace cstor {
namespace {

TEST(CodingTest, FixedRoundTrip) {
  std::string s;
  PutFixed8(&s, 0xab);
  PutFixed16(&s, 0x1234);
  PutFixed32(&s, 0xdeadbeef);
  PutFixed64(&s, 0x0102030405060708ULL);
  PutLengthPrefixed(&s, "hello");
  Decoder d(s);
  EXPECT_EQ(d.U8(), 0xab);
  EXPECT_EQ(d.U16(), 0x1234);
  EXPECT_EQ(d.U32(), 0xdeadbeefu);
  EXPECT_EQ(d.U64(), 0x0102030405060708ULL);
  EXPECT_EQ(d.LengthPrefixed(), "hello");
  EXPECT_TRUE(d.done());
}

TEST(CodingTest, DecoderDetectsTruncation) {
  std::string s;
  PutFixed32(&s, 7);
  Decoder d(s);
  (void)d.U64();
  EXPECT_FALSE(d.ok());
  Decoder e("\x05\x00\x00\x00ab");
  EXPECT_EQ(e.LengthPrefixed(), "");
  EXPECT_FALSE(e.ok());
}

TEST(CodingTest, BigEndianSortsNumerically) {
  std::string a, b;
  PutBigEndian64(&a, 255);
  PutBigEndian64(&b, 256);
  EXPECT_LT(a, b);
  EXPECT_EQ(DecodeBigEndian64(b.data()), 256u);
  std::string c;
  PutBigEndian32(&c, 0x01020304);
  EXPECT_EQ(DecodeBigEndian32(c.data()), 0x01020304u);
}

}  // namespace
}  // namespace cstor
