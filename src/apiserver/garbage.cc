// Garbage collection: ownerReferences, foreground and orphan deletion, namespaces, and
// Events past their time to live.
#include "apiserver/impl.h"

#include <unordered_set>

#include "apiserver/garbage_graph.h"
#include "apiserver/objects.h"
#include "apiserver/table.h"
#include "base/log.h"

namespace cstor::apiserver {

using nlohmann::json;

void ApiServer::Impl::GarbageLoop() {
  // A sweep of everything at start finishes what a previous run left; after that each
  // change costs work for the objects it concerns (see GarbageGraph).
  GarbageGraph graph;
  uint64_t revision = gc_revision_;
  graph.Reset(store_->Snapshot());
  std::unordered_set<std::string> retry;  // collections that failed, tried again at the next sweep
  auto next_sweep = std::chrono::steady_clock::now();
  while (!stopping_) {
    if (std::chrono::steady_clock::now() >= next_sweep) {
      try {
        ExpireEvents();
      } catch (const std::exception& e) {
        CSTOR_LOG_ERROR("apiserver: expiring events failed (retried at the next sweep): {}", e.what());
      }
      for (const std::string& uid : retry) graph.MarkDirty(uid);
      retry.clear();
      next_sweep = std::chrono::steady_clock::now() + opts_.event_sweep_interval;
    }
    bool too_old = false;
    std::vector<StoredEvent> events = store_->EventsAfter(revision, std::chrono::seconds(1), &too_old, gc_reader_);
    if (too_old) {
      // Behind the history: start again from the whole state (events after `revision`
      // replayed over a newer snapshot converge on the same graph).
      revision = store_->Revision();
      graph.Reset(store_->Snapshot());
    }
    for (const StoredEvent& ev : events) {
      revision = ev.revision;
      graph.Apply(ev);
    }
    CollectGarbage(graph, retry);
  }
}

// Events live for --event-ttl after they last happened, as on a cluster (kube-apiserver
// keeps them in etcd under a lease of that length, renewed by each update).
void ApiServer::Impl::ExpireEvents() {
  const auto now = std::chrono::system_clock::now();
  size_t expired = 0;
  for (const ObjectPtr& ev : store_->List("/events", "", "", 0, nullptr).items) {
    if (stopping_) return;
    // Any of these may be null or missing (client-go writes "eventTime": null).
    auto text = [](const json& o, const char* key) -> std::string {
      auto it = o.is_object() ? o.find(key) : o.end();
      return o.is_object() && it != o.end() && it->is_string() ? it->get<std::string>() : "";
    };
    std::chrono::system_clock::time_point last{}, t;
    const json series = ev->contains("series") ? (*ev)["series"] : json();
    for (const std::string& stamp : {text(*ev, "lastTimestamp"), text(*ev, "eventTime"),
                                     MetaString(*ev, "creationTimestamp"), text(series, "lastObservedTime")}) {
      if (ParseTimestamp(stamp, &t) && t > last) last = t;
    }
    if (now - last < opts_.event_ttl) continue;
    const std::string uid = MetaString(*ev, "uid");
    auto r = store_->Mutate("/events", MetaString(*ev, "namespace"), MetaString(*ev, "name"), [&](const json* cur) {
      if (!cur || MetaString(*cur, "uid") != uid || MetaString(*cur, "resourceVersion") != MetaString(*ev, "resourceVersion")) {
        return Mutation{};  // changed meanwhile: looked at again next time
      }
      return Mutation{Mutation::kDelete, {}};
    });
    expired += r.ok() ? 1 : 0;
  }
  if (expired > 0) CSTOR_LOG_INFO("apiserver: {} events older than the event TTL expired", expired);
}

void ApiServer::Impl::CollectGarbage(GarbageGraph& graph, std::unordered_set<std::string>& retry) {
  for (const std::string& uid : graph.TakeDirty()) {
    if (stopping_) return;
    const GarbageGraph::Node* node = graph.Find(uid);
    if (!node) continue;
    try {
      CollectObject(graph, uid, *node);
    } catch (const std::exception& e) {
      CSTOR_LOG_ERROR("apiserver: garbage collection of {} failed (retried at the next sweep): {}",
                      MetaString(*node->object, "name"), e.what());
      retry.insert(uid);
    }
  }
}

// What is due for one object: its finalizers' work when it is being deleted (orphan its
// dependents, or delete them first), its own deletion when its namespace is going or every
// owner is gone, dropping the references to owners that are gone.
void ApiServer::Impl::CollectObject(const GarbageGraph& graph, const std::string& uid,
                                    const GarbageGraph::Node& node) {
  ResourceDefPtr def = FindDef(node.resource);
  if (!def) return;
  const json& obj = *node.object;
  const json& meta = Meta(obj);
  auto with_uid = [](const json* cur, const json& o) { return cur && MetaString(*cur, "uid") == MetaString(o, "uid"); };
  auto remove_finalizer = [&](const std::string& f) {
    Commit(*def, MetaString(obj, "namespace"), MetaString(obj, "name"), [&](const json* cur) -> Mutation {
      if (!with_uid(cur, obj)) return {};
      json next = *cur;
      std::vector<std::string> fs = Finalizers(next);
      fs.erase(std::remove(fs.begin(), fs.end(), f), fs.end());
      SetFinalizers(next, fs);
      if (fs.empty() && IsDeleting(next)) return {Mutation::kDelete, {}};
      return {Mutation::kPut, std::move(next)};
    });
  };
  auto delete_object = [&](const GarbageGraph::Node& n) {
    ResourceDefPtr d = FindDef(n.resource);
    if (!d) return;
    try {
      DeleteObject(*d, MetaString(*n.object, "namespace"), MetaString(*n.object, "name"), "Background",
                   json{{"uid", MetaString(*n.object, "uid")}});
    } catch (const ApiError& e) {
      // Gone already, or replaced by another object of that name: nothing to do. Anything
      // else (a failed commit) is tried again at the next sweep.
      if (e.code != 404 && e.code != 409) throw;
    }
  };
  auto drop_owner_refs = [&](const GarbageGraph::Node& n, const std::function<bool(const std::string&)>& drop) {
    ResourceDefPtr d = FindDef(n.resource);
    if (!d) return;
    const json& o = *n.object;
    Commit(*d, MetaString(o, "namespace"), MetaString(o, "name"), [&](const json* cur) -> Mutation {
      if (!with_uid(cur, o)) return {};
      json next = *cur;
      json kept = json::array();
      for (const auto& ref : Meta(next).value("ownerReferences", json::array())) {
        if (!drop(ref.value("uid", ""))) kept.push_back(ref);
      }
      if (kept.empty()) {
        next["metadata"].erase("ownerReferences");
      } else {
        next["metadata"]["ownerReferences"] = kept;
      }
      if (next == *cur) return {};
      return {Mutation::kPut, std::move(next)};
    });
  };
  // The dependents, copied: committing changes nothing in the graph, but stay safe.
  auto dependents = [&] {
    std::vector<const GarbageGraph::Node*> out;
    for (const std::string& dep : graph.DependentsOf(uid)) {
      if (const GarbageGraph::Node* n = graph.Find(dep)) out.push_back(n);
    }
    return out;
  };

  if (IsDeleting(obj)) {
    const std::vector<std::string> fs = Finalizers(obj);
    auto has = [&](const char* f) { return std::find(fs.begin(), fs.end(), f) != fs.end(); };
    if (has(kOrphanFinalizer)) {
      for (const GarbageGraph::Node* dep : dependents()) {
        drop_owner_refs(*dep, [&](const std::string& u) { return u == uid; });
      }
      remove_finalizer(kOrphanFinalizer);
    } else if (has(kForegroundFinalizer)) {
      const auto deps = dependents();
      for (const GarbageGraph::Node* dep : deps) delete_object(*dep);
      if (deps.empty()) remove_finalizer(kForegroundFinalizer);
    }
    // A namespace goes once it is empty (its members were told to go when its deletion
    // began) and nothing else holds it.
    if (def->StorageKey() == kNamespaceKey && graph.MembersOf(MetaString(obj, "name")).empty() && fs.empty()) {
      const std::string ns = MetaString(obj, "name");
      Commit(*def, "", ns, [&](const json* cur) -> Mutation {
        if (!with_uid(cur, obj) || !IsDeleting(*cur) || !Finalizers(*cur).empty()) return {};
        return {Mutation::kDelete, {}};
      });
    }
    return;
  }
  if (const GarbageGraph::Node* ns = graph.NamespaceNamed(MetaString(obj, "namespace"));
      ns && IsDeleting(*ns->object)) {
    delete_object(node);
    return;
  }
  // Dependents whose owners are gone: deleted when every owner is gone, otherwise the
  // dangling references are dropped.
  auto refs = meta.find("ownerReferences");
  if (refs == meta.end() || !refs->is_array() || refs->empty()) return;
  size_t missing = 0;
  for (const auto& ref : *refs) missing += graph.Exists(ref.value("uid", "")) ? 0 : 1;
  if (missing == refs->size()) {
    delete_object(node);
  } else if (missing > 0) {
    drop_owner_refs(node, [&](const std::string& u) { return !graph.Exists(u); });
  }
}

// ---------------------------------------------------------------------------------------

}  // namespace cstor::apiserver
