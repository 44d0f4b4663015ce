#include "net/tcp_transport.h"

#include <gtest/gtest.h>

#include <asio/connect.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "base/coding.h"
#include "base/crc32c.h"

namespace cstor::net {
namespace {

using replication::ConnId;

// Records what the transport tells it; tests wait for events with a generous bound (a hang
// fails the test instead of blocking CI; nothing here measures time).
class Recorder : public replication::Handler {
 public:
  struct Event {
    std::string kind;  // connected, frame, closed
    ConnId conn = 0;
    bool outgoing = false;
    wire::Frame frame;
    Status why;
  };

  void OnConnected(ConnId conn, bool outgoing) override {
    Add({"connected", conn, outgoing, {}, {}});
    if (echo) transport->Send(conn, replication::MakeFrame(wire::Op::kPing, 0, "hi"));
  }
  void OnFrame(ConnId conn, wire::Frame frame) override {
    if (echo && !frame.response) {
      transport->Send(conn, replication::MakeFrame(frame.op, frame.request_id, frame.payload, true));
    }
    Add({"frame", conn, false, std::move(frame), {}});
  }
  void OnClosed(ConnId conn, const Status& why) override { Add({"closed", conn, false, {}, why}); }
  void OnTick() override {
    std::lock_guard l(mu_);
    ticks_++;
    cv_.notify_all();
  }

  // Waits for the next event of a kind (earlier ones of other kinds are kept).
  std::optional<Event> Next(const std::string& kind) {
    std::unique_lock l(mu_);
    std::optional<Event> out;
    cv_.wait_for(l, std::chrono::seconds(20), [&] {
      for (auto it = events_.begin(); it != events_.end(); ++it) {
        if (it->kind == kind) {
          out = std::move(*it);
          events_.erase(it);
          return true;
        }
      }
      return false;
    });
    return out;
  }
  size_t Count(const std::string& kind) {
    std::lock_guard l(mu_);
    return std::count_if(events_.begin(), events_.end(), [&](auto& e) { return e.kind == kind; });
  }
  bool WaitTicks(int n) {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(20), [&] { return ticks_ >= n; });
  }

  TcpTransport* transport = nullptr;
  bool echo = false;

 private:
  void Add(Event e) {
    std::lock_guard l(mu_);
    events_.push_back(std::move(e));
    cv_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;
  int ticks_ = 0;
};

class TcpTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.echo = true;
    server_transport_ = std::make_unique<TcpTransport>(&loop_, &server_);
    server_.transport = server_transport_.get();
    client_transport_ = std::make_unique<TcpTransport>(&loop_, &client_);
    client_.transport = client_transport_.get();
    auto bound = server_transport_->Listen("127.0.0.1:0");
    ASSERT_TRUE(bound.ok()) << bound.status().ToString();
    address_ = *bound;
    loop_.Start();
  }
  void TearDown() override {
    loop_.Call([&] {
      server_transport_->Shutdown();
      client_transport_->Shutdown();
    });
    loop_.Stop();
  }

  // A raw socket to the server, for sending bytes no well-behaved peer would.
  asio::ip::tcp::socket RawConnect() {
    auto hp = *SplitHostPort(address_);
    asio::ip::tcp::socket s(raw_io_);
    s.connect({asio::ip::make_address(hp.first), hp.second});
    return s;
  }

  // Reads everything until the server hangs up and decodes the frames in it.
  std::vector<wire::Frame> ReadUntilClosed(asio::ip::tcp::socket& s) {
    std::string bytes;
    std::array<char, 4096> buf;
    asio::error_code ec;
    while (true) {
      size_t n = s.read_some(asio::buffer(buf), ec);
      if (ec) break;
      bytes.append(buf.data(), n);
    }
    wire::FrameReader reader;
    EXPECT_TRUE(reader.Feed(std::as_bytes(std::span(bytes.data(), bytes.size()))).ok());
    std::vector<wire::Frame> out;
    while (auto f = reader.Next()) out.push_back(std::move(*f));
    return out;
  }

  // Sends raw bytes and checks that the server answers with a Reject naming the problem,
  // hangs up, and tells its handler the same.
  void ExpectRejected(const std::string& bytes, const std::string& reason) {
    auto s = RawConnect();
    ASSERT_TRUE(server_.Next("connected"));
    asio::write(s, asio::buffer(bytes));
    auto frames = ReadUntilClosed(s);
    ASSERT_FALSE(frames.empty());
    wire::Frame reject = frames.back();
    EXPECT_EQ(reject.op, wire::Op::kReject);
    auto r = wire::Decode<wire::Reject>(reject.payload);
    ASSERT_TRUE(r.ok());
    EXPECT_NE(r->message.find(reason), std::string::npos) << r->message;
    auto closed = server_.Next("closed");
    ASSERT_TRUE(closed);
    EXPECT_TRUE(closed->why.Is(Code::kProtocol)) << closed->why.ToString();
    EXPECT_NE(closed->why.message().find(reason), std::string::npos) << closed->why.ToString();
  }

  std::string GoodFrameBytes() {
    auto e = replication::MakeFrame(wire::Op::kPing, 7, "payload");
    return *e;
  }

  EventLoop loop_{"test"};
  Recorder server_, client_;
  std::unique_ptr<TcpTransport> server_transport_, client_transport_;
  std::string address_;
  asio::io_context raw_io_;
};

TEST_F(TcpTransportTest, FramesFlowInOrderBothWays) {
  ConnId conn = 0;
  loop_.Call([&] { conn = client_transport_->Connect(address_); });
  auto up = client_.Next("connected");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->conn, conn);
  EXPECT_TRUE(up->outgoing);
  auto accepted = server_.Next("connected");
  ASSERT_TRUE(accepted);
  EXPECT_FALSE(accepted->outgoing);
  auto hi = client_.Next("frame");  // the server greets every connection
  ASSERT_TRUE(hi);
  EXPECT_EQ(hi->frame.payload, "hi");

  // Many frames, one of them as large as a frame may be, queued in one go.
  std::string big(wire::kMaxIoBytes, 'x');
  for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<char>(i * 7);
  loop_.Call([&] {
    for (uint64_t id = 1; id <= 200; id++) {
      std::string payload = id == 100 ? big : std::to_string(id);
      client_transport_->Send(conn, replication::MakeFrame(wire::Op::kWrite, id, payload));
    }
  });
  for (uint64_t id = 1; id <= 200; id++) {
    auto echo = client_.Next("frame");
    ASSERT_TRUE(echo) << "no answer to request " << id;
    EXPECT_TRUE(echo->frame.response);
    EXPECT_EQ(echo->frame.request_id, id);
    EXPECT_EQ(echo->frame.payload, id == 100 ? big : std::to_string(id));
  }

  // Closing one end: the other end hears of it, the closing handler hears too.
  loop_.Call([&] { client_transport_->Close(conn, Status::Aborted("done")); });
  auto closed_here = client_.Next("closed");
  ASSERT_TRUE(closed_here);
  EXPECT_TRUE(closed_here->why.Is(Code::kAborted));
  auto closed_there = server_.Next("closed");
  ASSERT_TRUE(closed_there);
  EXPECT_TRUE(closed_there->why.Is(Code::kUnavailable)) << closed_there->why.ToString();
}

TEST_F(TcpTransportTest, GarbageGetsARejectAndAClosedConnection) {
  ExpectRejected(std::string(64, 'G'), "bad magic");
}

TEST_F(TcpTransportTest, WrongVersionIsNamed) {
  std::string bytes = GoodFrameBytes();
  bytes[4] = 9;
  ExpectRejected(bytes, "version 9 is not supported");
}

TEST_F(TcpTransportTest, CorruptHeaderAndPayloadAreRefused) {
  std::string bytes = GoodFrameBytes();
  bytes[20] ^= 1;  // request id, under the header checksum
  ExpectRejected(bytes, "header checksum");
  bytes = GoodFrameBytes();
  bytes.back() ^= 1;
  ExpectRejected(bytes, "checksum");
}

TEST_F(TcpTransportTest, OversizedFrameIsRefusedBeforeItsPayloadArrives) {
  std::string bytes = GoodFrameBytes().substr(0, wire::kHeaderSize);
  auto put32 = [&](size_t at, uint32_t v) {
    std::string le;
    PutFixed32(&le, v);
    bytes.replace(at, 4, le);
  };
  put32(8, wire::kMaxPayload + 1);  // payload length
  put32(28, crc32c::Value(bytes.data(), 28));
  ExpectRejected(bytes, "exceeds the limit");
}

TEST_F(TcpTransportTest, TruncatedFrameDeliversNothing) {
  auto s = RawConnect();
  ASSERT_TRUE(server_.Next("connected"));
  std::string bytes = GoodFrameBytes();
  asio::write(s, asio::buffer(bytes.substr(0, bytes.size() - 3)));
  s.close();
  auto closed = server_.Next("closed");
  ASSERT_TRUE(closed);
  EXPECT_TRUE(closed->why.Is(Code::kUnavailable)) << closed->why.ToString();
  EXPECT_EQ(server_.Count("frame"), 0u);
}

TEST_F(TcpTransportTest, ConnectFailuresAreReportedAsClosed) {
  // A port nobody listens on: take one from a listener and close it again.
  std::string dead;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    dead = "127.0.0.1:" + std::to_string(a.local_endpoint().port());
  }
  ConnId refused = 0, bad = 0;
  loop_.Call([&] {
    refused = client_transport_->Connect(dead);
    bad = client_transport_->Connect("no-port-here");
  });
  for (int i = 0; i < 2; i++) {
    auto closed = client_.Next("closed");
    ASSERT_TRUE(closed);
    if (closed->conn == refused) {
      EXPECT_TRUE(closed->why.Is(Code::kUnavailable)) << closed->why.ToString();
      EXPECT_NE(closed->why.message().find("cannot connect"), std::string::npos);
    } else {
      EXPECT_EQ(closed->conn, bad);
      EXPECT_TRUE(closed->why.Is(Code::kInvalidArgument)) << closed->why.ToString();
    }
  }
}

TEST_F(TcpTransportTest, TicksArrive) {
  loop_.Call([&] { server_transport_->StartTicks(); });
  EXPECT_TRUE(server_.WaitTicks(3));
}

TEST(SplitHostPortTest, AcceptsHostPortAndRefusesTheRest) {
  auto a = SplitHostPort("127.0.0.1:6060");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first, "127.0.0.1");
  EXPECT_EQ(a->second, 6060);
  auto b = SplitHostPort("[::1]:80");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->first, "::1");
  for (const char* bad : {"", "host", ":80", "host:", "host:70000", "host:8x"}) {
    EXPECT_FALSE(SplitHostPort(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace cstor::net
