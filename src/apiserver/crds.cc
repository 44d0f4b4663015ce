// CustomResourceDefinitions: serving a CRD's resource, reporting it in the CRD's status.
#include "apiserver/impl.h"

#include "apiserver/objects.h"
#include "base/log.h"

namespace cstor::apiserver {

using nlohmann::json;

void ApiServer::Impl::ServeCrd(const json& crd) {
  const std::string name = MetaString(crd, "name");
  auto def = Registry::FromCrd(crd);
  Status s = def.ok() ? Status::Ok() : def.status();
  if (s.ok()) {
    WriterLock lock(&registry_mu_);
    s = registry_.AddCustom(*def);
  }
  if (!s.ok()) CSTOR_LOG_WARN("apiserver: CRD {} is not served: {}", name, s.message());
  // Report the outcome in the CRD's status, as Kubernetes does (kubectl wait
  // --for=condition=Established relies on it).
  const std::string now = Now();
  json conditions = {
      {{"type", "NamesAccepted"}, {"status", s.ok() ? "True" : "False"},
       {"reason", s.ok() ? "NoConflicts" : "NameConflict"},
       {"message", s.ok() ? "no conflicts found" : s.message()}, {"lastTransitionTime", now}},
      {{"type", "Established"}, {"status", s.ok() ? "True" : "False"},
       {"reason", s.ok() ? "InitialNamesAccepted" : "NotAccepted"},
       {"message", s.ok() ? "the initial names have been accepted" : s.message()},
       {"lastTransitionTime", now}}};
  (void)store_->Mutate(kCrdKey, "", name, [&](const json* cur) -> Mutation {
    if (!cur) return {};
    json next = *cur;
    json& status = next["status"];
    // Keep transition times when nothing changed.
    if (status.contains("conditions") && status["conditions"].is_array()) {
      for (json& c : conditions) {
        for (const json& old : status["conditions"]) {
          if (old.value("type", "") == c["type"] && old.value("status", "") == c["status"]) {
            c["lastTransitionTime"] = old.value("lastTransitionTime", now);
          }
        }
      }
    }
    status["conditions"] = conditions;
    status["acceptedNames"] = next["spec"].value("names", json::object());
    status["storedVersions"] = def.ok() ? json::array({def->version}) : json::array();
    if (next == *cur) return {};
    return {Mutation::kPut, std::move(next)};
  });
}

Status ApiServer::Impl::ApplyManifest(const json& manifest) {
  const std::string api_version = manifest.value("apiVersion", "");
  const std::string kind = manifest.value("kind", "");
  ResourceDefPtr def;
  {
    ReaderLock lock(&registry_mu_);
    for (const ResourceDefPtr& d : registry_.All()) {
      if (d->ApiVersion() == api_version && d->kind == kind) def = d;
    }
  }
  if (!def || def->namespaced) return Status::InvalidArgument("cannot apply " + api_version + " " + kind);
  json obj = manifest;
  try {
    CheckTypeMeta(*def, obj);
    const std::string name = MetaString(obj, "name");
    Commit(*def, "", name, [&](const json* cur) -> Mutation {
      json next = obj;
      if (cur) {
        next["metadata"] = (*cur)["metadata"];
        if (cur->contains("status")) next["status"] = (*cur)["status"];
        def->strategy->PrepareForUpdate(*cur, next);
        if (next == *cur) return {};
      } else {
        next["metadata"]["uid"] = NewUid();
        next["metadata"]["creationTimestamp"] = Now();
        next["metadata"]["generation"] = 1;
        def->strategy->PrepareForCreate(next);
      }
      ValidateObject(*def, next, nullptr, nullptr);
      return {Mutation::kPut, std::move(next)};
    });
    if (def->StorageKey() == kCrdKey) ServeCrd(*store_->Get(kCrdKey, "", name));
  } catch (const ApiError& e) {
    return Status::InvalidArgument(e.message);
  }
  return Status::Ok();
}

}  // namespace cstor::apiserver
