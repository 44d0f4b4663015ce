#include "apiserver/managed_fields.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cstor::apiserver {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

const MergeSchema& Deployments() {
  static const MergeSchema schema = MergeSchema().WithObjectMeta().WithPodSpec("spec.template.spec");
  return schema;
}
const FieldScope kScope{&Deployments(), /*status_subresource=*/true, /*status=*/false};

json Deployment(int replicas, const std::string& image, bool with_label = true) {
  json d = {{"apiVersion", "apps/v1"}, {"kind", "Deployment"},
            {"metadata", {{"name", "web"}, {"namespace", "default"}}},
            {"spec", {{"replicas", replicas},
                      {"template", {{"spec", {{"containers", {{{"name", "app"}, {"image", image}}}}}}}}}}};
  if (with_label) d["metadata"]["labels"] = {{"tier", "front"}};
  return d;
}

std::vector<std::string> Paths(const FieldSet& fields) {
  std::vector<std::string> out;
  for (const FieldPath& p : fields) out.push_back(PathString(p));
  return out;
}

TEST(ManagedFieldsTest, FieldsAreLeavesAndKeyedItemsWithoutServerOwnedMetadata) {
  EXPECT_THAT(Paths(FieldsOf(Deployment(2, "nginx"), kScope)),
              ElementsAre(".metadata.labels.tier", ".spec.replicas", ".spec.template.spec.containers[name=\"app\"]",
                          ".spec.template.spec.containers[name=\"app\"].image",
                          ".spec.template.spec.containers[name=\"app\"].name"));
}

TEST(ManagedFieldsTest, FieldsV1RoundTripsWithDotForOwnedParents) {
  const FieldSet fields = FieldsOf(Deployment(2, "nginx"), kScope);
  const json v1 = EncodeFieldsV1(fields);
  EXPECT_EQ(v1["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"]["."], json::object());
  EXPECT_EQ(v1["f:spec"]["f:replicas"], json::object());
  EXPECT_EQ(DecodeFieldsV1(v1), fields);
}

TEST(ManagedFieldsTest, AnUpdateOwnsWhatItChanged) {
  json created = Deployment(2, "nginx");
  RecordUpdate(nullptr, created, "kubectl-create", "apps/v1", kScope, "t1");
  json scaled = created;
  scaled["spec"]["replicas"] = 5;
  RecordUpdate(&created, scaled, "hpa", "apps/v1", kScope, "t2");
  auto entries = ReadManagedFields(scaled);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].manager, "kubectl-create");
  EXPECT_EQ(entries[0].time, "t1");
  EXPECT_FALSE(entries[0].fields.count({"f:spec", "f:replicas"}));
  EXPECT_EQ(entries[1].manager, "hpa");
  EXPECT_EQ(entries[1].operation, "Update");
  EXPECT_THAT(Paths(entries[1].fields), ElementsAre(".spec.replicas"));
  // A field gone from the object is no one's; [] clears every entry.
  json unlabelled = scaled;
  unlabelled["metadata"].erase("labels");
  unlabelled["metadata"].erase("managedFields");
  RecordUpdate(&scaled, unlabelled, "editor", "apps/v1", kScope, "t3");
  for (const auto& e : ReadManagedFields(unlabelled)) EXPECT_FALSE(e.fields.count({"f:metadata", "f:labels", "f:tier"}));
  json cleared = unlabelled;
  cleared["metadata"]["managedFields"] = json::array();
  RecordUpdate(&unlabelled, cleared, "editor", "apps/v1", kScope, "t4");
  EXPECT_FALSE(cleared["metadata"].contains("managedFields"));
}

TEST(ManagedFieldsTest, ApplyCreatesAndOwnsExactlyItsConfiguration) {
  std::vector<ApplyConflict> conflicts;
  json obj = Apply(nullptr, Deployment(2, "nginx"), "kubectl", false, "apps/v1", kScope, "t1", conflicts);
  EXPECT_THAT(conflicts, IsEmpty());
  EXPECT_EQ(obj["spec"]["replicas"], 2);
  auto entries = ReadManagedFields(obj);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].operation, "Apply");
  EXPECT_EQ(entries[0].fields, FieldsOf(Deployment(2, "nginx"), kScope));
}

TEST(ManagedFieldsTest, ReapplyingWithoutAFieldRemovesItUnlessSomeoneElseOwnsIt) {
  std::vector<ApplyConflict> conflicts;
  json obj = Apply(nullptr, Deployment(2, "nginx"), "kubectl", false, "apps/v1", kScope, "t1", conflicts);
  json again = Apply(&obj, Deployment(2, "nginx", /*with_label=*/false), "kubectl", false, "apps/v1", kScope, "t2", conflicts);
  EXPECT_THAT(conflicts, IsEmpty());
  EXPECT_FALSE(again["metadata"].contains("labels") && again["metadata"]["labels"].contains("tier"));
  // Another manager applies the same label: dropping it from one configuration keeps it.
  json shared = Apply(&obj, Deployment(2, "nginx"), "other", false, "apps/v1", kScope, "t3", conflicts);
  json kept = Apply(&shared, Deployment(2, "nginx", false), "kubectl", false, "apps/v1", kScope, "t4", conflicts);
  EXPECT_EQ(kept["metadata"]["labels"]["tier"], "front");
}

TEST(ManagedFieldsTest, ReapplyingWithoutAListItemRemovesTheWholeItem) {
  std::vector<ApplyConflict> conflicts;
  json two = Deployment(1, "nginx");
  two["spec"]["template"]["spec"]["containers"].push_back({{"name", "side"}, {"image", "busybox"}});
  json obj = Apply(nullptr, two, "kubectl", false, "apps/v1", kScope, "t1", conflicts);
  json one = Apply(&obj, Deployment(1, "nginx"), "kubectl", false, "apps/v1", kScope, "t2", conflicts);
  EXPECT_EQ(one["spec"]["template"]["spec"]["containers"],
            json::parse(R"([{"name":"app","image":"nginx"}])"));
}

TEST(ManagedFieldsTest, ChangingAnotherManagersFieldConflictsUnlessForced) {
  std::vector<ApplyConflict> conflicts;
  json obj = Apply(nullptr, Deployment(2, "nginx"), "kubectl", false, "apps/v1", kScope, "t1", conflicts);
  json scaled = obj;
  scaled["spec"]["replicas"] = 7;
  RecordUpdate(&obj, scaled, "hpa", "apps/v1", kScope, "t2");
  // The same value is no conflict (shared ownership); another is.
  json same = Apply(&scaled, Deployment(7, "nginx:2"), "kubectl", false, "apps/v1", kScope, "t3", conflicts);
  EXPECT_THAT(conflicts, IsEmpty());
  EXPECT_EQ(same["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:2");
  json refused = Apply(&scaled, Deployment(3, "nginx"), "kubectl", false, "apps/v1", kScope, "t3", conflicts);
  EXPECT_TRUE(refused.is_null());
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0].manager, "hpa");
  EXPECT_EQ(conflicts[0].path, ".spec.replicas");
  conflicts.clear();
  json forced = Apply(&scaled, Deployment(3, "nginx"), "kubectl", true, "apps/v1", kScope, "t3", conflicts);
  EXPECT_EQ(forced["spec"]["replicas"], 3);
  for (const auto& e : ReadManagedFields(forced)) {
    EXPECT_EQ(e.fields.count({"f:spec", "f:replicas"}) > 0, e.manager == "kubectl") << e.manager;
  }
}

TEST(ManagedFieldsTest, KeyedListsMergeByKeyAndKeepOtherManagersItems) {
  std::vector<ApplyConflict> conflicts;
  json obj = Apply(nullptr, Deployment(1, "nginx"), "kubectl", false, "apps/v1", kScope, "t1", conflicts);
  json sidecar = obj;
  sidecar["spec"]["template"]["spec"]["containers"].push_back({{"name", "proxy"}, {"image", "envoy"}});
  RecordUpdate(&obj, sidecar, "injector", "apps/v1", kScope, "t2");
  json reapplied = Apply(&sidecar, Deployment(1, "nginx:2"), "kubectl", false, "apps/v1", kScope, "t3", conflicts);
  EXPECT_THAT(conflicts, IsEmpty());
  const json& containers = reapplied["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(containers.size(), 2u) << containers.dump();
  EXPECT_EQ(containers[0]["image"], "nginx:2");
  EXPECT_EQ(containers[1]["name"], "proxy");
}

TEST(ManagedFieldsTest, StatusIsOutsideTheMainResourcesFields) {
  json d = Deployment(1, "nginx");
  d["status"] = {{"replicas", 1}};
  for (const FieldPath& p : FieldsOf(d, kScope)) EXPECT_NE(p[0], "f:status");
  const FieldScope status{&Deployments(), true, true};
  EXPECT_THAT(Paths(FieldsOf(d, status)), ElementsAre(".status.replicas"));
}

}  // namespace
}  // namespace cstor::apiserver
