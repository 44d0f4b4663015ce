// REST semantics clients rely on, over real HTTPS against the embedded server: the pages
// of one list are one snapshot (410 once the history is gone), lists at an exact
// resourceVersion, and strategic merge patches (merged by key on built-in kinds, 415 on
// custom resources, as on a real server).
#include "control_plane_fixture.h"

namespace cstor::cptest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class RestTest : public ControlPlaneTest {
 protected:
  static constexpr const char* kMaps = "/api/v1/namespaces/openebs/configmaps";
  static json ConfigMap(const std::string& name, const std::string& value) {
    return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}}, {"data", {{"v", value}}}};
  }
  // Every page of a list of config maps, following continue tokens: "name=value" items.
  std::vector<std::string> Pages(const std::string& first_page_query, const std::function<void()>& between,
                                 int* code = nullptr) {
    std::vector<std::string> out;
    std::string query = first_page_query;
    for (int page = 0; page < 20; ++page) {
      Reply r = Send("GET", std::string(kMaps) + "?" + query);
      if (code) *code = r.code;
      if (r.code != 200) break;
      for (const json& item : r.body["items"]) {
        out.push_back(item["metadata"]["name"].get<std::string>() + "=" + item["data"]["v"].get<std::string>());
      }
      const std::string token = r.body["metadata"].value("continue", "");
      if (token.empty()) break;
      if (page == 0) between();
      query = "limit=2&continue=" + token;
    }
    return out;
  }
};

TEST_F(RestTest, ThePagesOfOneListAreOneSnapshot) {
  for (int i = 0; i < 6; ++i) ASSERT_EQ(Send("POST", kMaps, ConfigMap("m" + std::to_string(i), "old")).code, 201);
  auto change = [&] {
    ASSERT_EQ(Send("PATCH", std::string(kMaps) + "/m4", {{"data", {{"v", "new"}}}}, "application/merge-patch+json").code, 200);
    ASSERT_TRUE(client_->Delete(api::ResourceType{"", "v1", "ConfigMap", "configmaps", true}, "openebs", "m5").ok());
    ASSERT_EQ(Send("POST", kMaps, ConfigMap("m3a", "new")).code, 201);
  };
  EXPECT_THAT(Pages("limit=2", change),
              ElementsAre("m0=old", "m1=old", "m2=old", "m3=old", "m4=old", "m5=old"));
  // A fresh list sees the changes.
  EXPECT_THAT(Pages("limit=2", [] {}), ElementsAre("m0=old", "m1=old", "m2=old", "m3=old", "m3a=new", "m4=new"));
}

TEST_F(RestTest, AContinueTokenOlderThanTheHistoryIsGone) {
  server_.reset();
  StartServer(0, /*history=*/5);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(Send("POST", kMaps, ConfigMap("m" + std::to_string(i), "old")).code, 201);
  int code = 0;
  Pages("limit=2", [&] {
    for (int i = 0; i < 10; ++i) {
      ASSERT_EQ(Send("PATCH", std::string(kMaps) + "/m0", {{"data", {{"v", std::to_string(i)}}}},
                     "application/merge-patch+json").code, 200);
    }
  }, &code);
  EXPECT_EQ(code, 410);
}

TEST_F(RestTest, ListsAtAnExactResourceVersion) {
  ASSERT_EQ(Send("POST", kMaps, ConfigMap("a", "1")).code, 201);
  Reply before = Send("GET", kMaps);
  const std::string rv = before.body["metadata"]["resourceVersion"];
  ASSERT_EQ(Send("POST", kMaps, ConfigMap("b", "1")).code, 201);
  Reply exact = Send("GET", std::string(kMaps) + "?resourceVersion=" + rv + "&resourceVersionMatch=Exact");
  ASSERT_EQ(exact.code, 200) << exact.body.dump();
  EXPECT_EQ(exact.body["items"].size(), 1u);
  EXPECT_EQ(exact.body["metadata"]["resourceVersion"], rv);
  EXPECT_EQ(Send("GET", std::string(kMaps) + "?resourceVersion=" + rv + "&resourceVersionMatch=NotOlderThan").body["items"].size(), 2u);
  EXPECT_EQ(Send("GET", std::string(kMaps) + "?resourceVersionMatch=Exact").code, 400);
  EXPECT_EQ(Send("GET", std::string(kMaps) + "?resourceVersion=99999999&resourceVersionMatch=Exact").code, 504);
}

TEST_F(RestTest, StrategicMergePatchesMergeListsByKeyOnBuiltInKinds) {
  json d = {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"metadata", {{"name", "target"}}},
            {"spec", {{"selector", {{"matchLabels", {{"app", "t"}}}}},
                      {"template", {{"metadata", {{"labels", {{"app", "t"}}}}},
                                    {"spec", {{"containers", {{{"name", "target"}, {"image", "cstor:1"}},
                                                              {{"name", "exporter"}, {"image", "cstor:1"}}}}}}}}}}};
  ASSERT_EQ(Send("POST", "/apis/apps/v1/namespaces/openebs/deployments", d).code, 201);
  Reply patched = Send("PATCH", "/apis/apps/v1/namespaces/openebs/deployments/target",
                       json::parse(R"({"spec": {"template": {"spec": {"containers": [
                           {"$patch": "delete", "name": "exporter"}, {"name": "target", "image": "cstor:2"}]}}}})"),
                       "application/strategic-merge-patch+json");
  ASSERT_EQ(patched.code, 200) << patched.body.dump();
  const json& cs = patched.body["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0]["name"], "target");
  EXPECT_EQ(cs[0]["image"], "cstor:2");
  EXPECT_EQ(cs[0]["imagePullPolicy"], "IfNotPresent");  // defaults kept
  EXPECT_EQ(patched.body["metadata"]["generation"], 2);

  json svc = {{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", {{"name", "target"}}},
              {"spec", {{"ports", {{{"name", "iscsi"}, {"port", 3260}}, {{"name", "mgmt"}, {"port", 6060}}}}}}};
  ASSERT_EQ(Send("POST", "/api/v1/namespaces/openebs/services", svc).code, 201);
  Reply port = Send("PATCH", "/api/v1/namespaces/openebs/services/target",
                    {{"spec", {{"ports", {{{"name", "metrics"}, {"port", 9500}}}}}}}, "application/strategic-merge-patch+json");
  ASSERT_EQ(port.code, 200) << port.body.dump();
  EXPECT_EQ(port.body["spec"]["ports"].size(), 3u);

  Reply bad = Send("PATCH", "/api/v1/namespaces/openebs/services/target",
                   {{"spec", {{"ports", {{{"name", "no-port"}}}}}}}, "application/strategic-merge-patch+json");
  EXPECT_EQ(bad.code, 400);

  ASSERT_TRUE(client_->Create(Volume("vol")).ok());
  Reply custom = Send("PATCH", "/apis/cstor.openebs.io/v1/namespaces/openebs/cstorvolumes/vol",
                      {{"spec", {{"capacity", "20Gi"}}}}, "application/strategic-merge-patch+json");
  EXPECT_EQ(custom.code, 415);
  EXPECT_THAT(custom.body["message"].get<std::string>(), HasSubstr("application/apply-patch+yaml (got"));
}

}  // namespace
}  // namespace cstor::cptest
