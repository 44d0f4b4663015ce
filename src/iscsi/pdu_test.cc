#include "iscsi/pdu.h"

#include <gtest/gtest.h>

namespace cstor::iscsi {
namespace {

TEST(Pdu, RoundTripsWithAndWithoutDigests) {
  for (bool digests : {false, true}) {
    Pdu p = Pdu::Make(Opcode::kScsiCommand, 0xc0);
    p.set_u32(16, 0x1234);
    p.data = "hello";  // padded to 8 on the wire
    std::string wire;
    p.AppendTo(&wire, digests, digests);
    EXPECT_EQ(wire.size(), 48u + 8 + (digests ? 8 : 0));
    PduParser parser(8192);
    parser.SetDigests(digests, digests);
    Pdu out;
    EXPECT_EQ(*parser.Parse(std::string_view(wire).substr(0, 50), &out), 0u);  // incomplete
    ASSERT_EQ(*parser.Parse(wire, &out), wire.size());
    EXPECT_EQ(out.itt(), 0x1234u);
    EXPECT_EQ(out.data, "hello");
    EXPECT_EQ(out.opcode(), Opcode::kScsiCommand);
  }
}

TEST(Pdu, RefusesOversizedDataAndBadDigests) {
  Pdu p = Pdu::Make(Opcode::kDataOut, 0x80);
  p.data.assign(9000, 'x');
  std::string wire;
  p.AppendTo(&wire, true, true);
  PduParser parser(8192);
  parser.SetDigests(true, true);
  Pdu out;
  EXPECT_EQ(parser.Parse(wire, &out).status().code(), Code::kProtocol);
  parser.SetMaxData(16384);
  wire[60] ^= 1;  // flips a data byte
  EXPECT_EQ(parser.Parse(wire, &out).status().code(), Code::kCorruption);
  wire[60] ^= 1;
  wire[20] ^= 1;  // flips a header byte
  EXPECT_EQ(parser.Parse(wire, &out).status().code(), Code::kProtocol);
}

TEST(Text, ParsesAndRefusesGarbage) {
  auto t = ParseText(std::string("A=1\0B=x,y\0", 10));
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->size(), 2u);
  EXPECT_EQ((*t)[1].second, "x,y");
  EXPECT_FALSE(ParseText(std::string("novalue\0", 8)).ok());
  EXPECT_EQ(EncodeText(*t), std::string("A=1\0B=x,y\0", 10));
}

}  // namespace
}  // namespace cstor::iscsi
