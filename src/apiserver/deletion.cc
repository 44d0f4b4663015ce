// Deletion: finalizers, propagation policies, preconditions, delete collection.
#include "apiserver/impl.h"

#include <fmt/format.h>

#include "apiserver/objects.h"
#include "apiserver/selector.h"

namespace cstor::apiserver {

using nlohmann::json;

std::pair<ObjectPtr, bool> ApiServer::Impl::DeleteObject(const ResourceDef& def,
                                                         const std::string& ns,
                                                         const std::string& name,
                                                         const std::string& policy,
                                                         const json& preconditions, bool dry_run) {
  bool gone = false;
  ObjectPtr result = Commit(def, ns, name, [&](const json* cur) -> Mutation {
    if (!cur) throw NotFound(def, name);
    if (preconditions.is_object()) {
      const std::string uid = preconditions.value("uid", "");
      const std::string rv = preconditions.value("resourceVersion", "");
      if (!uid.empty() && uid != MetaString(*cur, "uid")) {
        throw Conflict(def, name, fmt::format("Precondition failed: UID in precondition: {}, UID in object meta: {}", uid, MetaString(*cur, "uid")));
      }
      if (!rv.empty() && rv != MetaString(*cur, "resourceVersion")) {
        throw Conflict(def, name, fmt::format("Precondition failed: ResourceVersion in precondition: {}, ResourceVersion in object meta: {}", rv, MetaString(*cur, "resourceVersion")));
      }
    }
    json next = *cur;
    std::vector<std::string> finalizers = Finalizers(next);
    const bool deleting = IsDeleting(next);
    auto add = [&](const char* f) {
      if (std::find(finalizers.begin(), finalizers.end(), f) == finalizers.end()) finalizers.push_back(f);
    };
    if (!deleting && policy == "Foreground") add(kForegroundFinalizer);
    if (!deleting && policy == "Orphan") add(kOrphanFinalizer);
    if (finalizers.empty() && def.StorageKey() != kNamespaceKey) {
      gone = true;
      return {Mutation::kDelete, {}};
    }
    if (deleting) return {};  // already on its way out
    next["metadata"]["deletionTimestamp"] = Now();
    next["metadata"]["deletionGracePeriodSeconds"] = 0;
    SetFinalizers(next, finalizers);
    if (def.StorageKey() == kNamespaceKey) next["status"] = {{"phase", "Terminating"}};
    return {Mutation::kPut, std::move(next)};
  }, dry_run);
  if (dry_run) return {result, gone};
  if (gone && def.StorageKey() == kCrdKey) {
    // The resource stops being served and its objects go with it.
    auto served = Registry::FromCrd(*result);
    if (served.ok()) {
      {
        WriterLock lock(&registry_mu_);
        registry_.RemoveCustom(served->group, served->plural);
      }
      const std::string key = served->StorageKey();
      for (const ObjectPtr& o : store_->List(key, "", "", 0, nullptr).items) {
        (void)store_->Mutate(key, MetaString(*o, "namespace"), MetaString(*o, "name"),
                             [](const json*) { return Mutation{Mutation::kDelete, {}}; });
      }
    }
  }
  return {result, gone};
}

void ApiServer::Impl::Delete(const Target& t, const http::Request& req, http::Response& res) {
  if (!t.sub.empty()) throw ApiError(405, "MethodNotAllowed", "DELETE is not supported on a subresource");
  json options = json::object();
  if (!req.body.empty()) options = ParseBody(req.body);
  std::string policy = req.get_param_value("propagationPolicy");
  if (policy.empty()) policy = options.value("propagationPolicy", "");
  if (policy.empty() && options.value("orphanDependents", false)) policy = "Orphan";
  if (policy.empty()) policy = "Background";
  if (policy != "Background" && policy != "Foreground" && policy != "Orphan") {
    throw BadRequest(fmt::format("propagationPolicy \"{}\" is not one of Background, Foreground, Orphan", policy));
  }
  auto [obj, gone] = DeleteObject(*t.def, t.ns, t.name, policy,
                                  options.value("preconditions", json(nullptr)), DryRun(req, options));
  if (gone) {
    WriteJson(res, 200, StatusObject(200, "", "", json{{"name", t.name}, {"group", t.def->group},
                                                       {"kind", t.def->plural},
                                                       {"uid", MetaString(*obj, "uid")}}));
  } else {
    WriteJson(res, 202, *obj);
  }
}

void ApiServer::Impl::DeleteCollection(const Target& t, const http::Request& req,
                                       http::Response& res) {
  auto labels = LabelSelector::Parse(req.get_param_value("labelSelector"));
  if (!labels.ok()) throw BadRequest(labels.status().message());
  auto fields = ParseFieldSelector(*t.def, req);
  const LabelSelector& ls = *labels;
  const FieldSelector& fs = *fields;
  Store::Page page = store_->List(t.def->StorageKey(), t.ns, "", 0, [&](const json& o) {
    return ls.Matches(LabelsOf(o)) && fs.Matches(o);
  });
  std::string policy = req.get_param_value("propagationPolicy");
  if (policy.empty()) policy = "Background";
  json items = json::array();
  for (const ObjectPtr& o : page.items) {
    try {
      items.push_back(*DeleteObject(*t.def, MetaString(*o, "namespace"), MetaString(*o, "name"), policy,
                                    nullptr, DryRun(req, json::object())).first);
    } catch (const ApiError& e) {
      if (e.code != 404) throw;  // deleted meanwhile
    }
  }
  WriteJson(res, 200, {{"kind", t.def->list_kind}, {"apiVersion", t.def->ApiVersion()},
                       {"metadata", {{"resourceVersion", std::to_string(store_->Revision())}}},
                       {"items", items}});
}

}  // namespace cstor::apiserver
