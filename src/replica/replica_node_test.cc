// A replica whose store has failed (the engine fenced its pool) leaves the target and does
// not come back: it would register with a checkpoint and data it cannot vouch for.
#include "replica/replica_node.h"

#include <gtest/gtest.h>

namespace cstor::replica {
namespace {

using replication::ConnId;

// Records what the node asks of the network; time moves only when the test says so.
class FakeTransport : public replication::Transport {
 public:
  void Send(ConnId, wire::EncodedFrame) override { sent++; }
  void Close(ConnId conn, const Status&) override { closed.push_back(conn); }
  ConnId Connect(const std::string&) override { return ++connects; }
  uint64_t NowMicros() override { return now; }
  wire::Nonce NewNonce() override { return {}; }

  uint64_t now = 1'000'000;
  uint64_t connects = 0;
  uint64_t sent = 0;
  std::vector<ConnId> closed;
};

// A store that answers nothing (the test never gets that far) and whose health is set.
class FakeStore : public ReplicaStore {
 public:
  Info GetInfo() override {
    Info info;
    info.size = 1 << 20;
    info.block_size = 4096;
    return info;
  }
  Status Health() override { return health; }
  void AnnounceIo(uint64_t) override {}
  void Write(uint64_t, std::string, uint64_t, Done) override {}
  void Read(uint64_t, uint32_t, DoneWith<std::string>) override {}
  void Unmap(uint64_t, uint64_t, uint64_t, Done) override {}
  void Flush(DoneWith<uint64_t>) override {}
  void CreateSnapshot(std::string, uint64_t, Done) override {}
  void DeleteSnapshot(std::string, Done) override {}
  void ListSnapshots(DoneWith<std::vector<wire::SnapshotEntry>>) override {}
  void SetSnapshotEpoch(uint64_t, Done) override {}
  void Resize(uint64_t, Done) override {}
  void OpenStream(uint64_t, std::string, uint64_t, uint64_t, DoneWith<wire::StreamOpened>) override {}
  void NextBatch(uint64_t, uint32_t, DoneWith<wire::StreamBatch>) override {}
  void CloseStream(uint64_t) override {}
  void ReadVersions(std::string, std::vector<uint64_t>,
                    DoneWith<std::vector<wire::BlockVersion>>) override {}
  void ApplyVersion(wire::BlockVersion, uint64_t, Done) override {}
  void ChangedBetween(uint64_t, uint64_t, DoneWith<std::vector<uint64_t>>) override {}
  void HoldCheckpoint(std::optional<uint64_t>) override {}

  Status health;
};

class ReplicaNodeHealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ReplicaNodeOptions options;
    options.rebuild_address = "127.0.0.1:1";
    node_ = std::make_unique<ReplicaNode>(options, &transport_);
    ReplicaVolumeConfig c;
    c.volume = "v";
    c.secret = "secret";
    c.target_address = "127.0.0.1:2";
    c.replica_id = "r1";
    c.store = &store_;
    node_->AddVolume(c);
  }
  // Lets `seconds` pass, one tick a second.
  void Tick(int seconds) {
    for (int i = 0; i < seconds; i++) {
      transport_.now += 1'000'000;
      node_->OnTick();
    }
  }

  FakeTransport transport_;
  FakeStore store_;
  std::unique_ptr<ReplicaNode> node_;
};

TEST_F(ReplicaNodeHealthTest, HealthyStoreReconnects) {
  ASSERT_EQ(transport_.connects, 1u);
  node_->OnClosed(1, Status::Unavailable("target went away"));
  Tick(30);
  EXPECT_GE(transport_.connects, 2u);
}

TEST_F(ReplicaNodeHealthTest, FencedStoreEndsTheSessionAndStaysAway) {
  ASSERT_EQ(transport_.connects, 1u);
  node_->OnConnected(1, /*outgoing=*/true);  // sends its Hello
  store_.health = Status::IoError("pool fenced after a failed commit: sync failed");
  Tick(1);
  EXPECT_EQ(transport_.closed, std::vector<ConnId>{1}) << "the session must end at once";
  Tick(120);
  EXPECT_EQ(transport_.connects, 1u) << "a fenced replica registered again";
  auto state = node_->State();
  ASSERT_EQ(state.size(), 1u);
  EXPECT_FALSE(state[0].connected);
  EXPECT_NE(state[0].last_error.find("fenced"), std::string::npos) << state[0].last_error;
}

TEST_F(ReplicaNodeHealthTest, FencedStoreDoesNotDialAtAll) {
  node_->OnClosed(1, Status::Unavailable("target went away"));
  store_.health = Status::IoError("pool fenced after a failed commit");
  Tick(120);
  EXPECT_EQ(transport_.connects, 1u);
}

}  // namespace
}  // namespace cstor::replica
