#include "http/server.h"

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "base/mutex.h"
#include "http/test_client.h"

namespace cstor::http {
namespace {

using namespace std::chrono_literals;

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void Serve(ServerOptions options = {}) {
    auto s = Server::Start(std::move(options), [this](const Request& req, Response& res) { Handle(req, res); });
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }

  virtual void Handle(const Request& req, Response& res) {
    if (req.path == "/stream") {
      res.set_stream("text/plain", [this](std::shared_ptr<Stream> s) {
        MutexLock lock(&mu_);
        streams_.push_back(std::move(s));
      });
      return;
    }
    if (req.path == "/slow") std::this_thread::sleep_for(200ms);
    if (req.path == "/big") return res.set_content(std::string(16 << 20, 'b') + "END", "text/plain");
    res.set_content(fmt::format("{} {} [{}] q={}", req.method, req.path, req.body, req.get_param_value("q")), "text/plain");
  }

  std::vector<std::shared_ptr<Stream>> Streams() {
    MutexLock lock(&mu_);
    return streams_;
  }
  size_t StreamCount() {
    MutexLock lock(&mu_);
    return streams_.size();
  }
  bool WaitFor(const std::function<bool()>& cond) {
    for (int i = 0; i < 2000 && !cond(); ++i) std::this_thread::sleep_for(5ms);
    return cond();
  }

  std::unique_ptr<Server> server_;
  Mutex mu_;
  std::vector<std::shared_ptr<Stream>> streams_ GUARDED_BY(mu_);
};

TEST_F(HttpServerTest, ServesPipelinedRequestsInOrderOnOneConnection) {
  Serve();
  RawClient c(server_->port());
  c.Send("GET /a?q=1 HTTP/1.1\r\nHost: x\r\n\r\n"
         "POST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
         "GET /c HTTP/1.1\r\n\r\n");
  const std::string got = c.ReadUntil("GET /c");
  const size_t a = got.find("GET /a [] q=1"), b = got.find("POST /b [hello]"), cc = got.find("GET /c []");
  ASSERT_NE(a, std::string::npos) << got;
  ASSERT_NE(b, std::string::npos) << got;
  ASSERT_NE(cc, std::string::npos) << got;
  EXPECT_LT(a, b);
  EXPECT_LT(b, cc);
  EXPECT_EQ(Count(got, "HTTP/1.1 200 OK"), 3u);
  EXPECT_FALSE(c.Closed(100ms));  // keep-alive
}

TEST_F(HttpServerTest, ChunkedBodiesAndExpectContinue) {
  Serve();
  RawClient c(server_->port());
  c.Send("PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  EXPECT_NE(c.ReadUntil("[abcde]").find("PUT /x [abcde]"), std::string::npos);

  RawClient e(server_->port());
  e.Send("POST /y HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_NE(e.ReadUntil("100 Continue").find("HTTP/1.1 100 Continue\r\n\r\n"), std::string::npos);
  e.Send("xyz");
  EXPECT_NE(e.ReadUntil("[xyz]").find("POST /y [xyz]"), std::string::npos);
}

TEST_F(HttpServerTest, AClientThatStopsSendingStillGetsItsAnswer) {
  Serve();
  RawClient c(server_->port());
  c.Send("GET /big HTTP/1.1\r\n\r\n");
  c.ShutdownWrite();  // a half-close, as some clients and proxies do after their request
  std::this_thread::sleep_for(200ms);  // the answer is larger than the socket buffers
  EXPECT_NE(c.ReadUntil("END").find("END"), std::string::npos) << "the answer was cut short";
  EXPECT_TRUE(c.Closed());
}

TEST_F(HttpServerTest, ARefusalIsReadEvenWhenTheClientSendsTheBodyAnyway) {
  ServerOptions o;
  o.max_body_bytes = 1000;
  Serve(o);
  RawClient c(server_->port());
  // The body follows at once, unread by the server; its answer must not be lost to a reset.
  c.Send("POST /x HTTP/1.1\r\nContent-Length: 200000\r\n\r\n" + std::string(200000, 'a'));
  std::this_thread::sleep_for(200ms);  // long enough for a reset to arrive, had there been one
  EXPECT_NE(c.ReadUntil("\r\n\r\n").find("HTTP/1.1 413 "), std::string::npos) << c.received();
  EXPECT_TRUE(c.Closed());
}

TEST_F(HttpServerTest, OversizedHeadsAndBodiesAreRefusedAndTheConnectionClosed) {
  ServerOptions o;
  o.max_head_bytes = 4096;
  o.max_body_bytes = 1000;
  Serve(o);
  RawClient big_body(server_->port());
  big_body.Send("POST /x HTTP/1.1\r\nContent-Length: 1001\r\n\r\n");
  EXPECT_NE(big_body.ReadUntil("\r\n\r\n").find("HTTP/1.1 413 "), std::string::npos);
  EXPECT_TRUE(big_body.Closed());

  RawClient big_chunks(server_->port());
  big_chunks.Send("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n" + std::string(1000, 'a') + "\r\n1\r\n");
  EXPECT_NE(big_chunks.ReadUntil("\r\n\r\n").find("HTTP/1.1 413 "), std::string::npos);
  EXPECT_TRUE(big_chunks.Closed());

  RawClient big_head(server_->port());
  big_head.Send("GET /x HTTP/1.1\r\nX-Long: " + std::string(5000, 'a'));
  EXPECT_NE(big_head.ReadUntil("\r\n\r\n").find("HTTP/1.1 431 "), std::string::npos);
  EXPECT_TRUE(big_head.Closed());

  RawClient smuggler(server_->port());
  smuggler.Send("POST /x HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_NE(smuggler.ReadUntil("\r\n\r\n").find("HTTP/1.1 400 "), std::string::npos);
  EXPECT_TRUE(smuggler.Closed());
}

TEST_F(HttpServerTest, SlowSendersAndIdleConnectionsAreBoundedInTime) {
  ServerOptions o;
  o.head_timeout = 300ms;
  o.body_timeout = 300ms;
  o.idle_timeout = 600ms;
  Serve(o);
  RawClient slow_head(server_->port());
  slow_head.Send("GET /x HTTP/1.1\r\nHost:");
  RawClient slow_body(server_->port());
  slow_body.Send("POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
  RawClient idle(server_->port());
  RawClient used(server_->port());
  used.Send("GET /u HTTP/1.1\r\n\r\n");
  EXPECT_NE(used.ReadUntil("GET /u").find("200 OK"), std::string::npos);

  EXPECT_NE(slow_head.ReadUntil("\r\n\r\n", 5s).find("HTTP/1.1 408 "), std::string::npos);
  EXPECT_TRUE(slow_head.Closed());
  EXPECT_NE(slow_body.ReadUntil("\r\n\r\n", 5s).find("HTTP/1.1 408 "), std::string::npos);
  EXPECT_TRUE(slow_body.Closed());
  // Idle ones are closed without a word, later than the head timeout.
  EXPECT_TRUE(idle.Closed(5s));
  EXPECT_EQ(idle.received(), "");
  EXPECT_TRUE(used.Closed(5s));
}

TEST_F(HttpServerTest, OpenStreamsHoldNoThread) {
  ServerOptions o;
  o.workers = 2;
  Serve(o);
  constexpr int kStreams = 300;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < kStreams; ++i) {
    clients.push_back(std::make_unique<RawClient>(server_->port()));
    clients.back()->Send("GET /stream HTTP/1.1\r\n\r\n");
  }
  ASSERT_TRUE(WaitFor([&] { return StreamCount() == kStreams; })) << StreamCount();
  // Two workers, three hundred open streams, and a plain request is still answered.
  RawClient plain(server_->port());
  plain.Send("GET /plain HTTP/1.1\r\n\r\n");
  EXPECT_NE(plain.ReadUntil("GET /plain").find("GET /plain"), std::string::npos);

  std::vector<std::shared_ptr<Stream>> streams = Streams();
  for (size_t i = 0; i < streams.size(); ++i) ASSERT_TRUE(streams[i]->Write("event\n"));
  for (auto& s : streams) s->Finish();
  for (auto& c : clients) {
    const std::string got = c->ReadUntil("0\r\n\r\n");
    EXPECT_NE(got.find("Transfer-Encoding: chunked"), std::string::npos);
    EXPECT_NE(got.find("6\r\nevent\n\r\n0\r\n\r\n"), std::string::npos) << got;
  }
  // After a finished stream the connection carries the next request.
  clients[0]->Send("GET /after HTTP/1.1\r\n\r\n");
  EXPECT_NE(clients[0]->ReadUntil("GET /after").find("GET /after"), std::string::npos);
  EXPECT_FALSE(streams[0]->Write("late"));
}

TEST_F(HttpServerTest, AStreamSeesItsClientLeave) {
  Serve();
  auto c = std::make_unique<RawClient>(server_->port());
  c->Send("GET /stream HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(WaitFor([&] { return StreamCount() == 1; }));
  auto s = Streams()[0];
  EXPECT_TRUE(s->Open());
  c.reset();
  EXPECT_TRUE(WaitFor([&] { return !s->Open(); }));
  EXPECT_FALSE(s->Write("x"));
  EXPECT_TRUE(WaitFor([&] { return server_->connections() == 0; }));
}

TEST_F(HttpServerTest, AStreamWhoseClientStopsReadingIsCutOff) {
  ServerOptions o;
  o.max_stream_backlog = 256 << 10;
  Serve(o);
  RawClient c(server_->port());
  int small = 4096;
  setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  c.Send("GET /stream HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(WaitFor([&] { return StreamCount() == 1; }));
  auto s = Streams()[0];
  const std::string piece(64 << 10, 'x');
  int written = 0;
  // Bounded: the kernel's buffers hold a few megabytes, the backlog a quarter of one.
  while (written < 2000 && s->Write(piece)) {
    ++written;
    if (written % 16 == 0) std::this_thread::sleep_for(1ms);
  }
  EXPECT_LT(written, 2000) << "the stream never pushed back";
  EXPECT_FALSE(s->Open());
  EXPECT_TRUE(WaitFor([&] { return server_->connections() == 0; }));
}

TEST_F(HttpServerTest, ThousandsOfIdleConnectionsCostNoService) {
  Serve();
  constexpr int kIdle = 2000;
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < kIdle; ++i) {
    idle.push_back(std::make_unique<RawClient>(server_->port()));
    ASSERT_TRUE(idle.back()->connected()) << i;
  }
  ASSERT_TRUE(WaitFor([&] { return server_->connections() >= kIdle; })) << server_->connections();
  for (int i = 0; i < 20; ++i) {
    RawClient c(server_->port());
    c.Send(fmt::format("GET /n{} HTTP/1.1\r\nConnection: close\r\n\r\n", i));
    EXPECT_NE(c.ReadUntil(fmt::format("GET /n{}", i)).find("200 OK"), std::string::npos);
    EXPECT_TRUE(c.Closed());
  }
}

TEST_F(HttpServerTest, StopEndsStreamsAndLetsRunningHandlersAnswer) {
  Serve();
  RawClient streaming(server_->port());
  streaming.Send("GET /stream HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(WaitFor([&] { return StreamCount() == 1; }));
  RawClient slow(server_->port());
  slow.Send("GET /slow HTTP/1.1\r\n\r\n");
  std::this_thread::sleep_for(50ms);  // the handler is running (it sleeps 200 ms)
  server_->Stop();
  EXPECT_NE(slow.ReadUntil("GET /slow").find("GET /slow"), std::string::npos);
  EXPECT_TRUE(slow.Closed());
  EXPECT_TRUE(streaming.Closed());
  EXPECT_FALSE(Streams()[0]->Write("x"));
}

TEST_F(HttpServerTest, BadRequestsGetTheConfiguredErrorBody) {
  ServerOptions o;
  o.error_response = [](int status, const std::string& message, Response& res) {
    res.set_content(fmt::format("{{\"code\":{},\"message\":\"{}\"}}", status, message), "application/json");
  };
  Serve(o);
  RawClient c(server_->port());
  c.Send("GET /x HTTP/1.1\r\nBad Header\r\n\r\n");
  const std::string got = c.ReadUntil("}");
  EXPECT_NE(got.find("HTTP/1.1 400 Bad Request"), std::string::npos);
  EXPECT_NE(got.find("Content-Type: application/json"), std::string::npos);
  EXPECT_NE(got.find("{\"code\":400,"), std::string::npos) << got;
}

}  // namespace
}  // namespace cstor::http
