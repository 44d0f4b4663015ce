#include "apiserver/strategic_merge.h"

#include <gtest/gtest.h>

namespace cstor::apiserver {
namespace {

using nlohmann::json;

const MergeSchema& Schema() {
  static const MergeSchema s =
      MergeSchema().WithObjectMeta().WithPodSpec("spec.template.spec").Merge("spec.ports", "port");
  return s;
}

json Merge(const json& original, const json& patch) {
  auto r = StrategicMerge(original, patch, Schema());
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : json();
}

json Deployment() {
  return json::parse(R"({"metadata": {"name": "d", "finalizers": ["a"]},
    "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
      "template": {"spec": {"containers": [
        {"name": "main", "image": "cstor:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
        {"name": "side", "image": "cstor:1"}]}}}})");
}

TEST(StrategicMergeTest, ListsWithAMergeKeyMergeItemByItem) {
  json out = Merge(Deployment(), json::parse(R"({"spec": {"template": {"spec": {"containers": [
      {"name": "main", "image": "cstor:2", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]},
      {"name": "new", "image": "x"}]}}}})"));
  const json& cs = out["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(cs.size(), 3u);
  EXPECT_EQ(cs[0]["image"], "cstor:2");
  EXPECT_EQ(cs[0]["env"], json::parse(R"([{"name":"A","value":"1"},{"name":"B","value":"3"},{"name":"C","value":"4"}])"));
  EXPECT_EQ(cs[1]["name"], "side");
  EXPECT_EQ(cs[2]["name"], "new");
}

TEST(StrategicMergeTest, PatchDeleteRemovesOneItemAndReplaceReplacesTheList) {
  // What a merge patch got wrong: the list became [{"$patch":"delete",...}].
  json out = Merge(Deployment(), json::parse(R"({"spec": {"template": {"spec": {"containers": [
      {"$patch": "delete", "name": "side"}]}}}})"));
  const json& cs = out["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0]["name"], "main");
  EXPECT_EQ(cs[0]["env"].size(), 2u);

  out = Merge(Deployment(), json::parse(R"({"spec": {"template": {"spec": {"containers": [
      {"name": "only", "image": "y"}, {"$patch": "replace"}]}}}})"));
  EXPECT_EQ(out["spec"]["template"]["spec"]["containers"], json::parse(R"([{"name": "only", "image": "y"}])"));

  out = Merge(Deployment(), json::parse(R"({"spec": {"strategy": {"$patch": "replace", "type": "Recreate"}}})"));
  EXPECT_EQ(out["spec"]["strategy"], json::parse(R"({"type": "Recreate"})"));
  out = Merge(Deployment(), json::parse(R"({"spec": {"strategy": {"$patch": "delete"}}})"));
  EXPECT_FALSE(out["spec"].contains("strategy"));
}

TEST(StrategicMergeTest, DirectivesOrderRetainAndDeleteFromPrimitiveLists) {
  json out = Merge(Deployment(), json::parse(R"({"spec": {"template": {"spec": {
      "$setElementOrder/containers": [{"name": "side"}, {"name": "main"}],
      "containers": [{"name": "main", "image": "cstor:3"}]}}}})"));
  EXPECT_EQ(out["spec"]["template"]["spec"]["containers"][0]["name"], "side");
  EXPECT_EQ(out["spec"]["template"]["spec"]["containers"][1]["image"], "cstor:3");

  out = Merge(Deployment(), json::parse(R"({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}})"));
  EXPECT_EQ(out["spec"]["strategy"], json::parse(R"({"type": "Recreate"})"));

  out = Merge(Deployment(), json::parse(R"({"metadata": {"finalizers": ["b", "a"]}})"));
  EXPECT_EQ(out["metadata"]["finalizers"], json::parse(R"(["a", "b"])"));  // a set: union
  out = Merge(out, json::parse(R"({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}})"));
  EXPECT_EQ(out["metadata"]["finalizers"], json::parse(R"(["b"])"));
}

TEST(StrategicMergeTest, ServicePortsMergeByPortAndNullDeletes) {
  json svc = json::parse(R"({"spec": {"selector": {"app": "t"},
      "ports": [{"name": "iscsi", "port": 3260}, {"name": "mgmt", "port": 6060}]}})");
  json out = Merge(svc, json::parse(R"({"spec": {"selector": null, "ports": [{"port": 9500, "name": "metrics"}]}})"));
  EXPECT_EQ(out["spec"]["ports"].size(), 3u);  // a merge patch dropped two of them
  EXPECT_FALSE(out["spec"].contains("selector"));
  // Lists without a merge key are replaced, as in a merge patch.
  json tol = json::parse(R"({"spec": {"template": {"spec": {"tolerations": [{"key": "a"}]}}}})");
  out = Merge(tol, json::parse(R"({"spec": {"template": {"spec": {"tolerations": [{"key": "b"}]}}}})"));
  EXPECT_EQ(out["spec"]["template"]["spec"]["tolerations"], json::parse(R"([{"key": "b"}])"));
}

TEST(StrategicMergeTest, MalformedPatchesAreRefused) {
  for (const char* p : {R"({"spec": {"template": {"spec": {"containers": [{"image": "no-name"}]}}}})",
                        R"({"spec": {"$patch": "explode"}})", R"({"spec": {"$unknown": 1}})",
                        R"({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}})",
                        R"({"$patch": "delete"})"}) {
    EXPECT_FALSE(StrategicMerge(Deployment(), json::parse(p), Schema()).ok()) << p;
  }
}

}  // namespace
}  // namespace cstor::apiserver
