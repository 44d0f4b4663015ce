#include "iscsi/login.h"

#include <gtest/gtest.h>

namespace cstor::iscsi {
namespace {

Pdu LoginPdu(uint8_t csg, uint8_t nsg, bool transit, const TextPairs& keys) {
  Pdu p = Pdu::Make(Opcode::kLogin, static_cast<uint8_t>((transit ? 0x80 : 0) | csg << 2 | nsg));
  p.bhs[0] |= 0x40;
  p.data = EncodeText(keys);
  return p;
}

std::map<std::string, std::string> Keys(const Pdu& p) {
  std::map<std::string, std::string> out;
  auto parsed = ParseText(p.data);
  EXPECT_TRUE(parsed.ok());
  if (parsed.ok()) {
    for (auto& [k, v] : *parsed) out[k] = v;
  }
  return out;
}

TEST(Login, NegotiatesWithoutAuthentication) {
  TargetConfig c;
  c.name = "iqn.2016-09.com.openebs.cstor:v";
  Login login(c);
  Pdu resp;
  auto o = login.Handle(LoginPdu(0, 1, true, {{"InitiatorName", "iqn.x"}, {"TargetName", c.name},
                                              {"SessionType", "Normal"}, {"AuthMethod", "None"}}),
                        &resp);
  EXPECT_EQ(o, Login::Outcome::kContinue);
  EXPECT_EQ(resp.bhs[36], 0);
  EXPECT_EQ(Keys(resp)["TargetPortalGroupTag"], "1");
  o = login.Handle(LoginPdu(1, 3, true, {{"HeaderDigest", "CRC32C,None"}, {"DataDigest", "None"},
                                         {"MaxRecvDataSegmentLength", "65536"},
                                         {"ImmediateData", "Yes"}, {"InitialR2T", "No"},
                                         {"X-com.example", "1"}}),
                   &resp);
  EXPECT_EQ(o, Login::Outcome::kFullFeature);
  auto k = Keys(resp);
  EXPECT_EQ(k["HeaderDigest"], "CRC32C");
  EXPECT_EQ(k["X-com.example"], "NotUnderstood");
  EXPECT_TRUE(login.params().header_digest);
  EXPECT_FALSE(login.params().initial_r2t);
  EXPECT_EQ(login.params().max_recv_data_segment, 65536u);
}

TEST(Login, ChapMutual) {
  TargetConfig c;
  c.name = "iqn.t";
  c.chap = ChapSecret{"user", "initiator-secret"};
  c.mutual = ChapSecret{"target", "target-secret-1"};
  Login login(c);
  Pdu resp;
  login.Handle(LoginPdu(0, 1, false, {{"InitiatorName", "iqn.i"}, {"TargetName", "iqn.t"},
                                      {"AuthMethod", "CHAP,None"}}),
               &resp);
  EXPECT_EQ(Keys(resp)["AuthMethod"], "CHAP");
  login.Handle(LoginPdu(0, 1, false, {{"CHAP_A", "5"}}), &resp);
  auto k = Keys(resp);
  uint8_t id = static_cast<uint8_t>(std::stoi(k["CHAP_I"]));
  std::string challenge = *DecodeChapValue(k["CHAP_C"]);
  std::string mine = "0123456789abcdef";
  auto o = login.Handle(LoginPdu(0, 1, true, {{"CHAP_N", "user"},
                                             {"CHAP_R", EncodeHex(ChapResponse(id, "initiator-secret", challenge))},
                                             {"CHAP_I", "7"}, {"CHAP_C", EncodeHex(mine)}}),
                        &resp);
  EXPECT_EQ(o, Login::Outcome::kContinue);
  EXPECT_EQ(resp.bhs[1] & 0x80, 0x80);  // transits
  EXPECT_EQ(*DecodeChapValue(Keys(resp)["CHAP_R"]), ChapResponse(7, "target-secret-1", mine));
}

TEST(Login, WrongChapFailsWithAuthenticationFailure) {
  TargetConfig c;
  c.name = "iqn.t";
  c.chap = ChapSecret{"user", "initiator-secret"};
  Login login(c);
  Pdu resp;
  login.Handle(LoginPdu(0, 1, false, {{"InitiatorName", "iqn.i"}, {"TargetName", "iqn.t"},
                                      {"AuthMethod", "CHAP"}}), &resp);
  login.Handle(LoginPdu(0, 1, false, {{"CHAP_A", "5"}}), &resp);
  auto o = login.Handle(LoginPdu(0, 1, true, {{"CHAP_N", "user"}, {"CHAP_R", "0x00112233"}}), &resp);
  EXPECT_EQ(o, Login::Outcome::kFailed);
  EXPECT_EQ(resp.bhs[36], 2);
  EXPECT_EQ(resp.bhs[37], 1);
}

TEST(Login, UnknownTargetIsNotFound) {
  TargetConfig c;
  c.name = "iqn.t";
  Login login(c);
  Pdu resp;
  auto o = login.Handle(LoginPdu(0, 1, true, {{"InitiatorName", "iqn.i"}, {"TargetName", "iqn.other"}}), &resp);
  EXPECT_EQ(o, Login::Outcome::kFailed);
  EXPECT_EQ(resp.bhs[37], 3);
}

}  // namespace
}  // namespace cstor::iscsi
