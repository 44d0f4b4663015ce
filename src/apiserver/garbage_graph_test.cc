// GarbageGraph: a change marks dirty only the objects it concerns, never all of them.
#include "apiserver/garbage_graph.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "apiserver/objects.h"

namespace cstor::apiserver {
namespace {

using nlohmann::json;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

const std::string kVolumes = "cstor.openebs.io/cstorvolumes";
const std::string kReplicas = "cstor.openebs.io/cstorvolumereplicas";

ObjectPtr Object(const std::string& ns, const std::string& name, std::vector<std::string> owners = {},
                 bool deleting = false) {
  json meta = {{"name", name}, {"uid", "uid-" + name}};
  if (!ns.empty()) meta["namespace"] = ns;
  for (const auto& o : owners) meta["ownerReferences"].push_back({{"uid", "uid-" + o}, {"name", o}});
  if (deleting) meta["deletionTimestamp"] = "2026-12-06T00:00:00Z";
  return std::make_shared<const json>(json{{"metadata", meta}});
}

StoredEvent Event(EventType type, const std::string& resource, ObjectPtr obj) {
  StoredEvent ev;
  ev.type = type;
  ev.resource = resource;
  ev.ns = MetaString(*obj, "namespace");
  ev.object = std::move(obj);
  return ev;
}

// A thousand volumes with two replicas each, in two namespaces; nothing dirty.
GarbageGraph Fleet() {
  GarbageGraph g;
  std::vector<std::pair<std::string, ObjectPtr>> objects;
  objects.emplace_back(kNamespaceKey, Object("", "a"));
  objects.emplace_back(kNamespaceKey, Object("", "b"));
  for (int i = 0; i < 1000; ++i) {
    const std::string ns = i % 2 ? "a" : "b", v = "v" + std::to_string(i);
    objects.emplace_back(kVolumes, Object(ns, v));
    objects.emplace_back(kReplicas, Object(ns, v + "-r1", {v}));
    objects.emplace_back(kReplicas, Object(ns, v + "-r2", {v}));
  }
  g.Reset(objects);
  EXPECT_EQ(g.TakeDirty().size(), 3002u);  // the sweep at start looks at everything once
  return g;
}

TEST(GarbageGraphTest, AChangeMarksItselfAndItsOwners) {
  GarbageGraph g = Fleet();
  g.Apply(Event(EventType::kModified, kReplicas, Object("a", "v7-r1", {"v7"})));
  EXPECT_THAT(g.TakeDirty(), UnorderedElementsAre("uid-v7-r1", "uid-v7"));
  g.Apply(Event(EventType::kAdded, kVolumes, Object("a", "new")));
  EXPECT_THAT(g.TakeDirty(), UnorderedElementsAre("uid-new"));
  EXPECT_THAT(g.TakeDirty(), IsEmpty());
}

TEST(GarbageGraphTest, ADeletedOwnerMarksItsDependents) {
  GarbageGraph g = Fleet();
  g.Apply(Event(EventType::kDeleted, kVolumes, Object("a", "v7")));
  EXPECT_THAT(g.TakeDirty(), UnorderedElementsAre("uid-v7-r1", "uid-v7-r2", "uid-a"));
  EXPECT_FALSE(g.Exists("uid-v7"));
  EXPECT_THAT(g.DependentsOf("uid-v7"), UnorderedElementsAre("uid-v7-r1", "uid-v7-r2"));
  // A dependent that drops its reference leaves the index.
  g.Apply(Event(EventType::kModified, kReplicas, Object("a", "v7-r1")));
  EXPECT_THAT(g.DependentsOf("uid-v7"), UnorderedElementsAre("uid-v7-r2"));
}

TEST(GarbageGraphTest, ANamespaceBeingDeletedMarksItsMembersOnce) {
  GarbageGraph g = Fleet();
  g.Apply(Event(EventType::kModified, kNamespaceKey, Object("", "a", {}, /*deleting=*/true)));
  EXPECT_EQ(g.TakeDirty().size(), 1501u);  // 500 volumes, 1000 replicas, the namespace
  g.Apply(Event(EventType::kModified, kNamespaceKey, Object("", "a", {}, /*deleting=*/true)));
  EXPECT_THAT(g.TakeDirty(), UnorderedElementsAre("uid-a"));
  EXPECT_EQ(g.MembersOf("a").size(), 1500u);
  ASSERT_NE(g.NamespaceNamed("a"), nullptr);
  EXPECT_TRUE(IsDeleting(*g.NamespaceNamed("a")->object));
}

TEST(GarbageGraphTest, ResetForgetsWhatWentBefore) {
  GarbageGraph g = Fleet();
  g.Reset({{kVolumes, Object("a", "only")}});
  EXPECT_EQ(g.size(), 1u);
  EXPECT_THAT(g.TakeDirty(), UnorderedElementsAre("uid-only"));
  EXPECT_THAT(g.DependentsOf("uid-v7"), IsEmpty());
  EXPECT_EQ(g.NamespaceNamed("a"), nullptr);
}

}  // namespace
}  // namespace cstor::apiserver
