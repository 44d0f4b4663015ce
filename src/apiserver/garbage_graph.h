// GarbageGraph: what the garbage collector knows about the stored objects, kept up to date
// change by change from the store's history, so that a change costs work in proportion to
// the objects it concerns, not to all objects.
//
// It indexes every object by uid, the dependents of each owner (from ownerReferences), and
// the members of each namespace. Each change marks dirty the objects whose collection may
// now be due: the object itself, its owners (a foreground deletion may be able to finish,
// an orphaning must drop the reference), its dependents when it is gone (they lost an
// owner), its namespace when it leaves one that is being deleted, and every member of a
// namespace when that namespace starts being deleted. The collector takes the dirty set
// and looks at those objects only.
//
// Not thread-safe: it belongs to the collector's thread.
#pragma once

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "apiserver/store.h"

namespace cstor::apiserver {

class GarbageGraph {
 public:
  struct Node {
    std::string resource;  // the storage key of its resource
    ObjectPtr object;      // as last seen
  };

  // Forgets everything, then records `objects` (as Store::Snapshot returns them), all dirty.
  void Reset(const std::vector<std::pair<std::string, ObjectPtr>>& objects);
  // Records one change from the store's history.
  void Apply(const StoredEvent& ev);
  // The uids marked dirty since the last call, each once; the set is cleared.
  std::vector<std::string> TakeDirty();
  void MarkDirty(const std::string& uid) { dirty_.insert(uid); }

  const Node* Find(const std::string& uid) const;
  bool Exists(const std::string& uid) const { return nodes_.count(uid) > 0; }
  // Uids of the objects naming `owner_uid` in their ownerReferences.
  const std::unordered_set<std::string>& DependentsOf(const std::string& owner_uid) const;
  // Uids of the objects in namespace `ns`.
  const std::unordered_set<std::string>& MembersOf(const std::string& ns) const;
  // The Namespace object named `ns`, null when there is none.
  const Node* NamespaceNamed(const std::string& ns) const;
  size_t size() const { return nodes_.size(); }

 private:
  void Link(const std::string& uid, const Node& node);
  void Unlink(const std::string& uid, const Node& node);
  void Put(const std::string& resource, const ObjectPtr& object);

  std::unordered_map<std::string, Node> nodes_;                                     // by uid
  std::unordered_map<std::string, std::unordered_set<std::string>> dependents_;     // owner uid ->
  std::unordered_map<std::string, std::unordered_set<std::string>> members_;        // namespace ->
  std::unordered_map<std::string, std::string> namespaces_;                         // name -> uid
  std::unordered_set<std::string> dirty_;
};

}  // namespace cstor::apiserver
