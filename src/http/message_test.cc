#include "http/message.h"

#include <gtest/gtest.h>

namespace cstor::http {
namespace {

TEST(HttpMessageTest, ParsesTheRequestLineQueryAndHeaders) {
  Request req;
  auto err = ParseRequestHead(
      "GET /api/v1/namespaces/a%20b/pods?labelSelector=app%3Dweb%2Ctier+in+(x)&watch=1&watch=2&flag "
      "HTTP/1.1\r\nHost: x\r\ncontent-TYPE:  application/json \r\nAccept: a\r\nAccept: b",
      req);
  ASSERT_FALSE(err) << err->message;
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.path, "/api/v1/namespaces/a b/pods");
  EXPECT_EQ(req.minor_version, 1);
  EXPECT_EQ(req.get_param_value("labelSelector"), "app=web,tier in (x)");
  EXPECT_EQ(req.params.count("watch"), 2u);
  EXPECT_TRUE(req.has_param("flag"));
  EXPECT_EQ(req.get_param_value("flag"), "");
  EXPECT_EQ(req.get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(req.headers.count("accept"), 2u);
  EXPECT_TRUE(req.KeepAlive());
}

TEST(HttpMessageTest, KeepAliveFollowsTheVersionAndConnectionHeader) {
  Request a, b, c;
  ASSERT_FALSE(ParseRequestHead("GET / HTTP/1.0", a));
  EXPECT_FALSE(a.KeepAlive());
  ASSERT_FALSE(ParseRequestHead("GET / HTTP/1.0\r\nConnection: Keep-Alive", b));
  EXPECT_TRUE(b.KeepAlive());
  ASSERT_FALSE(ParseRequestHead("GET / HTTP/1.1\r\nConnection: foo, close", c));
  EXPECT_FALSE(c.KeepAlive());
}

TEST(HttpMessageTest, RefusesMalformedHeads) {
  for (const char* head : {"GET", "GET /", "GET  / HTTP/1.1", "GET / HTTP/1.1 x", "G(T / HTTP/1.1",
                           "GET http://x/ HTTP/1.1", "GET / HTTP/1.1\r\n folded: x",
                           "GET / HTTP/1.1\r\nNo colon", "GET / HTTP/1.1\r\nBad Name: x",
                           "GET /%zz HTTP/1.1", "GET /?a=%4 HTTP/1.1", "GET / HTTP/1.1\r\nX: a\nB: c",
                           "GET / HTTP/1.1\r\nX: a\rb"}) {
    Request req;
    auto err = ParseRequestHead(head, req);
    ASSERT_TRUE(err) << head;
    EXPECT_EQ(err->status, 400) << head;
  }
  Request req;
  auto err = ParseRequestHead("GET / HTTP/2.0", req);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->status, 505);
}

TEST(HttpMessageTest, BodyFramingRefusesSmugglingAndLimitsSize) {
  auto framing = [](const std::string& head, size_t max, BodyFraming& out) {
    Request req;
    EXPECT_FALSE(ParseRequestHead(head, req));
    return BodyFramingOf(req, max, out);
  };
  BodyFraming f;
  EXPECT_FALSE(framing("POST / HTTP/1.1\r\nContent-Length: 12", 100, f));
  EXPECT_EQ(f.length, 12u);
  EXPECT_FALSE(framing("POST / HTTP/1.1\r\nTransfer-Encoding: chunked", 100, f));
  EXPECT_TRUE(f.chunked);
  EXPECT_EQ(framing("POST / HTTP/1.1\r\nContent-Length: 101", 100, f)->status, 413);
  EXPECT_EQ(framing("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked", 100, f)->status, 400);
  EXPECT_EQ(framing("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2", 100, f)->status, 400);
  EXPECT_EQ(framing("POST / HTTP/1.1\r\nContent-Length: -1", 100, f)->status, 400);
  EXPECT_EQ(framing("POST / HTTP/1.1\r\nContent-Length: 1x", 100, f)->status, 400);
  EXPECT_EQ(framing("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked", 100, f)->status, 501);
  EXPECT_FALSE(framing("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5", 100, f));
}

TEST(HttpMessageTest, ChunkedBodiesDecodeFromAnySplit) {
  const std::string wire = "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
  for (size_t step = 1; step <= wire.size(); ++step) {
    ChunkedDecoder d(100);
    std::string body, pending;
    std::optional<ParseError> err;
    size_t fed = 0;
    while (fed < wire.size() && !d.done()) {
      pending += wire.substr(fed, step);
      fed += std::min(step, wire.size() - fed);
      pending.erase(0, d.Feed(pending, body, err));
      ASSERT_FALSE(err) << "step " << step << ": " << err->message;
    }
    ASSERT_TRUE(d.done()) << step;
    EXPECT_EQ(body, "hello, world") << step;
    EXPECT_EQ(pending + wire.substr(fed), "NEXT") << step;  // what follows the body is left
  }
}

TEST(HttpMessageTest, ChunkedBodiesRefuseGarbageAndExcess) {
  std::string body;
  std::optional<ParseError> err;
  ChunkedDecoder bad(100);
  bad.Feed("zz\r\n", body, err);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->status, 400);
  err.reset();
  ChunkedDecoder big(10);
  big.Feed("5\r\nhello\r\n6\r\n", body, err);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->status, 413);
  err.reset();
  ChunkedDecoder unterminated(100);
  unterminated.Feed("2\r\nabXY", body, err);
  ASSERT_TRUE(err);
}

TEST(HttpMessageTest, FormatsHeadsAndChunks) {
  Response res;
  res.status = 404;
  res.set_content("{}", "application/json");
  res.set_header("Warning", "299 - \"x\"");
  const std::string head = FormatHead(res, false, false, 2);
  EXPECT_EQ(head.substr(0, head.find("\r\n")), "HTTP/1.1 404 Not Found");
  EXPECT_NE(head.find("Content-Length: 2\r\n"), std::string::npos);
  EXPECT_NE(head.find("Connection: close\r\n"), std::string::npos);
  EXPECT_NE(head.find("Warning: 299 - \"x\"\r\n"), std::string::npos);
  EXPECT_TRUE(head.ends_with("\r\n\r\n"));
  EXPECT_EQ(FormatChunk("hello, world!!!!!"), "11\r\nhello, world!!!!!\r\n");
  EXPECT_EQ(FormatChunk(""), "0\r\n\r\n");
}

}  // namespace
}  // namespace cstor::http
