#include "apiserver/garbage_graph.h"

#include "apiserver/objects.h"

namespace cstor::apiserver {

namespace {

const std::unordered_set<std::string> kNone;

std::vector<std::string> OwnerUids(const nlohmann::json& obj) {
  std::vector<std::string> out;
  const nlohmann::json& meta = Meta(obj);
  auto refs = meta.find("ownerReferences");
  if (refs == meta.end() || !refs->is_array()) return out;
  for (const auto& ref : *refs) {
    if (ref.is_object() && ref.contains("uid") && ref["uid"].is_string()) out.push_back(ref["uid"]);
  }
  return out;
}

}  // namespace

void GarbageGraph::Reset(const std::vector<std::pair<std::string, ObjectPtr>>& objects) {
  nodes_.clear();
  dependents_.clear();
  members_.clear();
  namespaces_.clear();
  dirty_.clear();
  for (const auto& [resource, object] : objects) {
    Put(resource, object);
    dirty_.insert(MetaString(*object, "uid"));
  }
  dirty_.erase("");
}

void GarbageGraph::Apply(const StoredEvent& ev) {
  const std::string uid = MetaString(*ev.object, "uid");
  if (uid.empty()) return;
  bool was_deleting = false;
  if (auto old = nodes_.find(uid); old != nodes_.end()) {
    was_deleting = IsDeleting(*old->second.object);
    for (const std::string& owner : OwnerUids(*old->second.object)) dirty_.insert(owner);
    Unlink(uid, old->second);
    nodes_.erase(old);
  }
  if (ev.type == EventType::kDeleted) {
    // Its dependents lost an owner; its namespace may be able to go.
    for (const std::string& dep : DependentsOf(uid)) dirty_.insert(dep);
    if (const Node* ns = NamespaceNamed(ev.ns)) dirty_.insert(MetaString(*ns->object, "uid"));
    return;
  }
  Put(ev.resource, ev.object);
  dirty_.insert(uid);
  for (const std::string& owner : OwnerUids(*ev.object)) dirty_.insert(owner);
  if (ev.resource == kNamespaceKey && IsDeleting(*ev.object) && !was_deleting) {
    // A namespace starts being deleted: everything in it goes.
    for (const std::string& member : MembersOf(MetaString(*ev.object, "name"))) dirty_.insert(member);
  }
}

std::vector<std::string> GarbageGraph::TakeDirty() {
  std::vector<std::string> out(dirty_.begin(), dirty_.end());
  dirty_.clear();
  return out;
}

const GarbageGraph::Node* GarbageGraph::Find(const std::string& uid) const {
  auto it = nodes_.find(uid);
  return it == nodes_.end() ? nullptr : &it->second;
}

const std::unordered_set<std::string>& GarbageGraph::DependentsOf(const std::string& owner_uid) const {
  auto it = dependents_.find(owner_uid);
  return it == dependents_.end() ? kNone : it->second;
}

const std::unordered_set<std::string>& GarbageGraph::MembersOf(const std::string& ns) const {
  auto it = members_.find(ns);
  return it == members_.end() ? kNone : it->second;
}

const GarbageGraph::Node* GarbageGraph::NamespaceNamed(const std::string& ns) const {
  if (ns.empty()) return nullptr;
  auto it = namespaces_.find(ns);
  return it == namespaces_.end() ? nullptr : Find(it->second);
}

void GarbageGraph::Put(const std::string& resource, const ObjectPtr& object) {
  const std::string uid = MetaString(*object, "uid");
  if (uid.empty()) return;
  Node& node = nodes_[uid];
  node = Node{resource, object};
  Link(uid, node);
}

void GarbageGraph::Link(const std::string& uid, const Node& node) {
  for (const std::string& owner : OwnerUids(*node.object)) dependents_[owner].insert(uid);
  const std::string ns = MetaString(*node.object, "namespace");
  if (!ns.empty()) members_[ns].insert(uid);
  if (node.resource == kNamespaceKey) namespaces_[MetaString(*node.object, "name")] = uid;
}

void GarbageGraph::Unlink(const std::string& uid, const Node& node) {
  auto drop = [&](auto& index, const std::string& key) {
    auto it = index.find(key);
    if (it == index.end()) return;
    it->second.erase(uid);
    if (it->second.empty()) index.erase(it);
  };
  for (const std::string& owner : OwnerUids(*node.object)) drop(dependents_, owner);
  const std::string ns = MetaString(*node.object, "namespace");
  if (!ns.empty()) drop(members_, ns);
  if (node.resource == kNamespaceKey) {
    auto it = namespaces_.find(MetaString(*node.object, "name"));
    if (it != namespaces_.end() && it->second == uid) namespaces_.erase(it);
  }
}

}  // namespace cstor::apiserver
