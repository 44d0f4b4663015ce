// The embedded API server under many connections and bad input, over raw sockets: a
// thousand open watches on two request threads all see every change while ordinary
// requests are still answered, and oversized bodies get the Status a real server sends.
#include "control_plane_fixture.h"
#include "http/test_client.h"

namespace cstor::cptest {
namespace {

using http::RawClient;
using ::testing::HasSubstr;

class ConnectionsTest : public ControlPlaneTest {
 protected:
  void SetUp() override {
    tweak_ = [](apiserver::ApiServerOptions& o) {
      o.tls = false;  // raw sockets; TLS is covered by every other test
      o.threads = 2;
    };
    ControlPlaneTest::SetUp();
  }
  std::string Request(const std::string& method, const std::string& path, const std::string& body = "") {
    return fmt::format("{} {} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n"
                       "Content-Length: {}\r\n\r\n{}",
                       method, path, server_->token(), body.size(), body);
  }
};

TEST_F(ConnectionsTest, AThousandWatchesOnTwoRequestThreadsAllSeeEveryChange) {
  Reply list = Send("GET", "/api/v1/namespaces/openebs/configmaps");
  ASSERT_EQ(list.code, 200);
  const std::string rv = list.body["metadata"]["resourceVersion"];
  constexpr int kWatches = 1000;
  std::vector<std::unique_ptr<RawClient>> watches;
  for (int i = 0; i < kWatches; ++i) {
    watches.push_back(std::make_unique<RawClient>(server_->port()));
    ASSERT_TRUE(watches.back()->connected()) << i;
    watches.back()->Send(Request("GET", "/api/v1/namespaces/openebs/configmaps?watch=1&resourceVersion=" + rv));
  }
  // Ordinary requests are served beside them.
  RawClient plain(server_->port());
  plain.Send(Request("GET", "/api/v1/namespaces/openebs"));
  EXPECT_THAT(plain.ReadUntil("\"openebs\""), HasSubstr("HTTP/1.1 200 OK"));

  for (const char* name : {"first", "second"}) {
    const std::string body = json{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}}}.dump();
    RawClient writer(server_->port());
    writer.Send(Request("POST", "/api/v1/namespaces/openebs/configmaps", body));
    EXPECT_THAT(writer.ReadUntil("HTTP/1.1 201"), HasSubstr("HTTP/1.1 201 Created"));
  }
  int saw_both = 0;
  for (auto& w : watches) {
    const std::string got = w->ReadUntil("\"second\"");
    if (got.find("\"name\":\"first\"") != std::string::npos && got.find("\"name\":\"second\"") != std::string::npos &&
        got.find("\"name\":\"first\"") < got.find("\"name\":\"second\"")) {
      ++saw_both;
    }
  }
  EXPECT_EQ(saw_both, kWatches);
}

TEST_F(ConnectionsTest, ABodyOverTheRequestLimitIsRefusedWithAStatus) {
  const std::string huge(3 * 1024 * 1024 + 1, 'x');  // Kubernetes' request limit, plus one
  RawClient c(server_->port());
  c.Send(fmt::format("POST /api/v1/namespaces/openebs/configmaps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n"
                     "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                     server_->token(), huge.size()));
  const std::string got = c.ReadUntil("}");
  EXPECT_THAT(got, HasSubstr("HTTP/1.1 413 "));
  const json status = json::parse(got.substr(got.find("\r\n\r\n") + 4));
  EXPECT_EQ(status["kind"], "Status");
  EXPECT_EQ(status["reason"], "RequestEntityTooLarge");
  EXPECT_EQ(status["code"], 413);
  EXPECT_TRUE(c.Closed());
  // Nothing was stored, and the server goes on serving.
  EXPECT_EQ(Send("GET", "/api/v1/namespaces/openebs/configmaps").body["items"].size(), 0u);
}

}  // namespace
}  // namespace cstor::cptest
