#include "wire/messages.h"

#include <gtest/gtest.h>

#include "wire/auth.h"

namespace cstor::wire {
namespace {

TEST(MessagesTest, HelloRoundTrips) {
  Hello h;
  h.purpose = Hello::Purpose::kPeer;
  h.volume = "pvc-1";
  h.replica_id = "r1";
  h.replica_guid = 77;
  h.pool = "pool-a";
  h.checkpoint_io_seq = 10;
  h.max_io_seq = 12;
  h.volume_size = 1 << 30;
  h.block_size = 4096;
  h.rebuild_address = "127.0.0.1:7001";
  h.snapshots = {{"s1", 5}, {"s2", 9}};
  h.nonce[3] = 9;
  auto back = Decode<Hello>(EncodePayload(h));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->purpose, Hello::Purpose::kPeer);
  EXPECT_EQ(back->volume, "pvc-1");
  EXPECT_EQ(back->snapshots, h.snapshots);
  EXPECT_EQ(back->nonce, h.nonce);
  EXPECT_EQ(back->rebuild_address, "127.0.0.1:7001");
}

TEST(MessagesTest, StreamBatchRoundTrips) {
  StreamBatch b;
  b.done = true;
  b.scanned_blocks = 99;
  b.blocks.push_back({5, 7, 0, std::string(4096, 'x')});
  b.blocks.push_back({6, 8, BlockVersion::kUnmapped, ""});
  auto back = Decode<StreamBatch>(EncodePayload(b));
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->blocks.size(), 2u);
  EXPECT_EQ(back->blocks[0].data.size(), 4096u);
  EXPECT_EQ(back->blocks[1].flags, BlockVersion::kUnmapped);
  EXPECT_TRUE(back->done);
}

TEST(MessagesTest, MalformedPayloadsAreRefusedWithTheMessageName) {
  std::string w = EncodePayload(WriteRequest{1, 4096, std::string(512, 'd')});
  auto truncated = Decode<WriteRequest>(w.substr(0, w.size() - 1));
  ASSERT_FALSE(truncated.ok());
  EXPECT_TRUE(truncated.status().Is(Code::kProtocol));
  EXPECT_NE(truncated.status().message().find("bad Write message"), std::string::npos);
  auto trailing = Decode<WriteRequest>(w + "x");
  ASSERT_FALSE(trailing.ok());
  EXPECT_NE(trailing.status().message().find("trailing"), std::string::npos);
  // A length prefix that claims more than the limit is refused before any allocation.
  std::string huge = EncodePayload(Reject{"x"});
  huge[0] = '\xff';
  huge[1] = '\xff';
  huge[2] = '\xff';
  huge[3] = '\x7f';
  EXPECT_FALSE(Decode<Reject>(huge).ok());
  auto read = Decode<ReadRequest>(EncodePayload(ReadRequest{0, kMaxIoBytes + 1}));
  EXPECT_FALSE(read.ok());
  std::string bad_bool = EncodePayload(Welcome{1, true, 2, 4096});
  bad_bool[8] = 7;
  EXPECT_FALSE(Decode<Welcome>(bad_bool).ok());
}

TEST(AuthTest, ProofsBindSecretVolumeIdentityAndNonces) {
  Nonce a = RandomNonce(), b = RandomNonce();
  EXPECT_NE(a, b);
  Proof p = ConnectProof("secret", "vol", "r1", a, b);
  EXPECT_TRUE(ProofsEqual(p, ConnectProof("secret", "vol", "r1", a, b)));
  EXPECT_FALSE(ProofsEqual(p, ConnectProof("other", "vol", "r1", a, b)));
  EXPECT_FALSE(ProofsEqual(p, ConnectProof("secret", "vol2", "r1", a, b)));
  EXPECT_FALSE(ProofsEqual(p, ConnectProof("secret", "vol", "r2", a, b)));
  EXPECT_FALSE(ProofsEqual(p, ConnectProof("secret", "vol", "r1", b, a)));
  // The two directions never produce each other's proof.
  EXPECT_FALSE(ProofsEqual(AnswerProof("secret", "vol", a, b), ConnectProof("secret", "vol", "", a, b)));
}

}  // namespace
}  // namespace cstor::wire
