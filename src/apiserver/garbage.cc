// Garbage collection: ownerReferences, foreground and orphan deletion, namespaces, and
// Events past their time to live.
#include "apiserver/impl.h"

#include <unordered_map>
#include <unordered_set>

#include "apiserver/objects.h"
#include "apiserver/table.h"
#include "base/log.h"

namespace cstor::apiserver {

using nlohmann::json;

void ApiServer::Impl::GarbageLoop() {
  uint64_t revision = store_->Revision();
  bool relevant = true;  // a sweep at start finishes what a previous run left
  auto next_expiry = std::chrono::steady_clock::now();
  while (!stopping_) {
    if (std::chrono::steady_clock::now() >= next_expiry) {
      try {
        ExpireEvents();
      } catch (const std::exception& e) {
        CSTOR_LOG_ERROR("apiserver: expiring events failed (retried at the next sweep): {}", e.what());
      }
      next_expiry = std::chrono::steady_clock::now() + opts_.event_sweep_interval;
    }
    bool too_old = false;
    std::vector<StoredEvent> events = store_->EventsAfter(revision, std::chrono::seconds(1), &too_old);
    relevant = relevant || too_old;
    for (const StoredEvent& ev : events) {
      revision = ev.revision;
      const json& meta = Meta(*ev.object);
      relevant = relevant || ev.type == EventType::kDeleted || meta.contains("deletionTimestamp") ||
                 meta.contains("ownerReferences");
    }
    if (too_old) revision = store_->Revision();
    if (relevant && !stopping_) {
      try {
        CollectGarbage();
      } catch (const std::exception& e) {
        CSTOR_LOG_ERROR("apiserver: garbage collection failed (retried on the next change): {}", e.what());
      }
      relevant = false;
    }
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

void ApiServer::Impl::CollectGarbage() {
  const auto snapshot = store_->Snapshot();
  std::unordered_set<std::string> uids;
  std::unordered_map<std::string, std::vector<std::pair<std::string, ObjectPtr>>> dependents;
  std::unordered_map<std::string, size_t> per_namespace;
  for (const auto& [resource, obj] : snapshot) {
    const json& meta = Meta(*obj);
    uids.insert(meta.value("uid", ""));
    if (meta.contains("namespace")) ++per_namespace[meta.value("namespace", "")];
    for (const auto& ref : meta.value("ownerReferences", json::array())) {
      dependents[ref.value("uid", "")].emplace_back(resource, obj);
    }
  }
  auto remove_finalizer = [&](const ResourceDef& def, const json& obj, const std::string& f) {
    try {
      Commit(def, MetaString(obj, "namespace"), MetaString(obj, "name"), [&](const json* cur) -> Mutation {
        if (!cur || MetaString(*cur, "uid") != MetaString(obj, "uid")) return {};
        json next = *cur;
        std::vector<std::string> fs = Finalizers(next);
        fs.erase(std::remove(fs.begin(), fs.end(), f), fs.end());
        SetFinalizers(next, fs);
        if (fs.empty() && IsDeleting(next)) return {Mutation::kDelete, {}};
        return {Mutation::kPut, std::move(next)};
      });
    } catch (const ApiError&) {
    }
  };
  auto delete_object = [&](const ResourceDef& def, const json& obj) {
    try {
      DeleteObject(def, MetaString(obj, "namespace"), MetaString(obj, "name"), "Background",
                   json{{"uid", MetaString(obj, "uid")}});
    } catch (const ApiError&) {
    }
  };
  auto drop_owner_refs = [&](const ResourceDef& def, const json& obj, const std::function<bool(const std::string&)>& drop) {
    try {
      Commit(def, MetaString(obj, "namespace"), MetaString(obj, "name"), [&](const json* cur) -> Mutation {
        if (!cur || MetaString(*cur, "uid") != MetaString(obj, "uid")) return {};
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
    } catch (const ApiError&) {
    }
  };

  for (const auto& [resource, obj] : snapshot) {
    if (stopping_) return;
    ResourceDefPtr def = FindDef(resource);
    if (!def) continue;
    const json& meta = Meta(*obj);
    const std::string uid = meta.value("uid", "");
    if (IsDeleting(*obj)) {
      std::vector<std::string> fs = Finalizers(*obj);
      auto deps = dependents.find(uid);
      const bool has_deps = deps != dependents.end() && !deps->second.empty();
      if (std::find(fs.begin(), fs.end(), kOrphanFinalizer) != fs.end()) {
        if (has_deps) {
          for (const auto& [dres, dep] : deps->second) {
            if (ResourceDefPtr ddef = FindDef(dres)) {
              drop_owner_refs(*ddef, *dep, [&](const std::string& u) { return u == uid; });
            }
          }
        }
        remove_finalizer(*def, *obj, kOrphanFinalizer);
      } else if (std::find(fs.begin(), fs.end(), kForegroundFinalizer) != fs.end()) {
        if (has_deps) {
          for (const auto& [dres, dep] : deps->second) {
            if (ResourceDefPtr ddef = FindDef(dres)) delete_object(*ddef, *dep);
          }
        } else {
          remove_finalizer(*def, *obj, kForegroundFinalizer);
        }
      }
      if (def->StorageKey() == kNamespaceKey) {
        const std::string ns = meta.value("name", "");
        if (per_namespace[ns] == 0) {
          if (fs.empty()) {
            Commit(*def, "", ns, [&](const json* cur) -> Mutation {
              if (!cur || !IsDeleting(*cur) || !Finalizers(*cur).empty()) return {};
              return {Mutation::kDelete, {}};
            });
          }
        } else {
          for (const auto& [ores, o] : snapshot) {
            if (MetaString(*o, "namespace") != ns || IsDeleting(*o)) continue;
            if (ResourceDefPtr odef = FindDef(ores)) delete_object(*odef, *o);
          }
        }
      }
    }
    // Dependents whose owners are gone: deleted when every owner is gone, otherwise the
    // dangling references are dropped.
    const json refs = meta.value("ownerReferences", json::array());
    if (refs.empty() || IsDeleting(*obj)) continue;
    size_t missing = 0;
    for (const auto& ref : refs) missing += uids.count(ref.value("uid", "")) == 0 ? 1 : 0;
    if (missing == refs.size()) {
      delete_object(*def, *obj);
    } else if (missing > 0) {
      drop_owner_refs(*def, *obj, [&](const std::string& u) { return uids.count(u) == 0; });
    }
  }
}

// ---------------------------------------------------------------------------------------

}  // namespace cstor::apiserver
