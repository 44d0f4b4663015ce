// Writes: create and update, and the object rules every write path shares.
#include "apiserver/impl.h"

#include <set>

#include <fmt/format.h>

#include "apiserver/managed_fields.h"
#include "apiserver/objects.h"
#include "apiserver/validation.h"

namespace cstor::apiserver {

using nlohmann::json;

void ApiServer::Impl::CheckTypeMeta(const ResourceDef& def, json& obj) const {
  const std::string api_version = obj.value("apiVersion", "");
  const std::string kind = obj.value("kind", "");
  if (kind.empty()) throw BadRequest("Object 'Kind' is missing in the request body");
  if (api_version.empty()) throw BadRequest("Object 'apiVersion' is missing in the request body");
  if (api_version != def.ApiVersion() || kind != def.kind) {
    throw BadRequest(fmt::format("the object's type ({}, {}) does not match the resource ({}, {})",
                                 api_version, kind, def.ApiVersion(), def.kind));
  }
  if (!obj.contains("metadata")) obj["metadata"] = json::object();
  if (!obj["metadata"].is_object()) throw BadRequest("metadata must be an object");
}

void ApiServer::Impl::CheckNamespace(const ResourceDef& def, const std::string& path_ns,
                                     json& obj) const {
  json& meta = obj["metadata"];
  if (!def.namespaced) {
    meta.erase("namespace");
    return;
  }
  const std::string ns = meta.value("namespace", "");
  if (!ns.empty() && ns != path_ns) {
    throw BadRequest(fmt::format("the namespace of the object ({}) does not match the namespace on "
                                 "the request ({})", ns, path_ns));
  }
  meta["namespace"] = path_ns;
}

void ApiServer::Impl::CheckTypes(const ResourceDef& def, const json& obj) const {
  const json* schema = def.strategy->TypeSchema();
  if (schema == nullptr) return;
  json copy = obj;
  SchemaResult r = ValidateAndPrune(*schema, copy);
  if (r.errors.empty()) return;
  // A real server's decoder stops at the first field of the wrong type.
  throw BadRequest(fmt::format("{} in version \"{}\" cannot be handled as a {}: {}", def.kind,
                               def.version, def.kind, r.errors.front().message));
}

void DropUnknownFields(json& obj, const std::vector<std::string>& known, const http::Request* req,
                       http::Response* res) {
  std::vector<std::string> unknown;
  for (auto it = obj.begin(); it != obj.end();) {
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
      unknown.push_back(it.key());
      it = obj.erase(it);
    } else {
      ++it;
    }
  }
  std::string mode = req ? req->get_param_value("fieldValidation") : "Ignore";
  if (mode.empty()) mode = "Warn";
  if (!unknown.empty() && mode == "Strict") {
    std::string list;
    for (const std::string& f : unknown) list += (list.empty() ? "" : ", ") + ("unknown field \"" + f + "\"");
    throw BadRequest("strict decoding error: " + list);
  }
  if (!unknown.empty() && mode == "Warn" && res) {
    for (const std::string& f : unknown) res->set_header("Warning", fmt::format("299 - \"unknown field \\\"{}\\\"\"", f));
  }
}

void ApiServer::Impl::ValidateObject(const ResourceDef& def, json& obj, const http::Request* req,
                                     http::Response* res, const json* old) const {
  std::vector<FieldError> errors = ValidateObjectMeta(Meta(obj), def.strategy->NameIsDnsLabel());
  if (!def.custom) DropUnknownFields(obj, def.strategy->TopLevelFields(), req, res);
  for (FieldError& e : def.strategy->Validate(obj)) errors.push_back(std::move(e));
  if (old != nullptr) {
    for (FieldError& e : def.strategy->ValidateUpdate(*old, obj)) errors.push_back(std::move(e));
  }
  if (def.custom && def.schema.is_object() && !def.schema.empty()) {
    SchemaResult r = ValidateAndPrune(def.schema, obj);
    errors.insert(errors.end(), r.errors.begin(), r.errors.end());
    // Kubernetes' default when the client does not say is Warn.
    std::string mode = req ? req->get_param_value("fieldValidation") : "Ignore";
    if (mode.empty()) mode = "Warn";
    if (!r.unknown_fields.empty() && mode == "Strict" && errors.empty()) {
      std::string list;
      for (const std::string& f : r.unknown_fields) list += (list.empty() ? "" : ", ") + ("unknown field \"" + f + "\"");
      throw BadRequest("strict decoding error: " + list);
    }
    if (!r.unknown_fields.empty() && mode == "Warn" && res) {
      for (const std::string& f : r.unknown_fields) {
        res->set_header("Warning", fmt::format("299 - \"unknown field \\\"{}\\\"\"", f));
      }
    }
  }
  if (!errors.empty()) throw Invalid(def, MetaString(obj, "name"), errors);
}

ObjectPtr ApiServer::Impl::Commit(const ResourceDef& def, const std::string& ns,
                                  const std::string& name,
                                  const std::function<Mutation(const json*)>& decide,
                                  bool dry_run) {
  if (dry_run) {
    // Everything a real write checks, and the would-be result; nothing stored, no event.
    ObjectPtr cur = store_->Get(def.StorageKey(), ns, name);
    Mutation m = decide(cur.get());
    if (m.kind == Mutation::kPut) {
      if (cur) m.object["metadata"]["resourceVersion"] = MetaString(*cur, "resourceVersion");
      return std::make_shared<const json>(std::move(m.object));
    }
    if (m.kind == Mutation::kDelete && !cur) throw NotFound(def, name);
    return cur;
  }
  auto r = store_->Mutate(def.StorageKey(), ns, name, decide);
  if (!r.ok()) {
    if (r.status().Is(Code::kNotFound)) throw NotFound(def, name);
    throw ApiError(500, "InternalError", r.status().ToString());
  }
  return *r;
}

void ApiServer::Impl::Create(const Target& t, const http::Request& req, http::Response& res) {
  CreateObject(t, ParseBody(req, /*creating=*/true), req, res);
}

void ApiServer::Impl::CreateObject(const Target& t, json obj, const http::Request& req, http::Response& res,
                                   const json* managed) {
  const ResourceDef& def = *t.def;
  CheckTypeMeta(def, obj);
  if (def.namespaced && t.ns.empty()) throw NotFoundPath();
  CheckNamespace(def, t.ns, obj);
  json& meta = obj["metadata"];
  std::string name = meta.value("name", "");
  if (name.empty() && !meta.value("generateName", "").empty()) {
    static const char kChars[] = "bcdfghjklmnpqrstvwxz2456789";
    std::string suffix = RandomHex(3).substr(0, 5);
    for (char& c : suffix) c = kChars[static_cast<unsigned char>(c) % (sizeof(kChars) - 1)];
    name = meta.value("generateName", "") + suffix;
  }
  meta["name"] = name;
  for (const char* k : {"uid", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds",
                        "selfLink", "managedFields"}) {
    meta.erase(k);
  }
  meta["uid"] = NewUid();
  meta["creationTimestamp"] = Now();
  if (def.generation) {
    meta["generation"] = 1;
  } else {
    meta.erase("generation");
  }
  if (def.custom && def.status_subresource) obj.erase("status");
  CheckTypes(def, obj);
  def.strategy->PrepareForCreate(obj);
  if (managed != nullptr) {
    if (!managed->empty()) obj["metadata"]["managedFields"] = *managed;
  } else {
    RecordUpdate(nullptr, obj, FieldManager(req), def.ApiVersion(), {&def.strategy->Merges(), def.status_subresource, false}, Now());
  }
  // Held until the Service is stored (or refused), so two creates never share an address.
  std::optional<ClusterIpAllocator::Reservation> cluster_ip = AllocateClusterIp(def, obj);
  ValidateObject(def, obj, &req, &res);

  if (def.namespaced) {
    ObjectPtr ns = store_->Get(kNamespaceKey, "", t.ns);
    if (!ns) throw ApiError(404, "NotFound", fmt::format("namespaces \"{}\" not found", t.ns),
                            json{{"name", t.ns}, {"kind", "namespaces"}});
    if (IsDeleting(*ns)) {
      throw ApiError(403, "Forbidden",
                     fmt::format("{} \"{}\" is forbidden: unable to create new content in "
                                 "namespace {} because it is being terminated",
                                 def.QualifiedName(), name, t.ns));
    }
  }
  const bool dry_run = DryRun(req, json::object());
  ObjectPtr stored = Commit(def, t.ns, name, [&](const json* cur) {
    if (cur) throw AlreadyExists(def, name);
    return Mutation{Mutation::kPut, obj};
  }, dry_run);
  if (def.StorageKey() == kCrdKey && !dry_run) {
    ServeCrd(*stored);
    stored = store_->Get(def.StorageKey(), t.ns, name);  // with the status ServeCrd wrote
  }
  WriteJson(res, 201, *stored);
}

std::optional<ClusterIpAllocator::Reservation> ApiServer::Impl::AllocateClusterIp(
    const ResourceDef& def, json& obj) {
  if (def.StorageKey() != "/services" || !obj["spec"].is_object()) return std::nullopt;
  json& spec = obj["spec"];
  const std::string requested = spec.value("clusterIP", "");
  if (requested == "None" || spec.value("type", "") == "ExternalName") return std::nullopt;
  auto in_use = [this] {
    std::set<uint32_t> used;
    for (const ObjectPtr& svc : store_->List("/services", "", "", 0, nullptr).items) {
      uint32_t ip = 0;
      if (ClusterIpAllocator::ParseIpv4((*svc)["spec"].value("clusterIP", ""), &ip)) used.insert(ip);
    }
    return used;
  };
  auto reserved = cluster_ips_->Reserve(requested, in_use);
  if (!reserved.ok()) {
    if (reserved.status().Is(Code::kNoSpace)) {
      throw ApiError(500, "InternalError", "Internal error occurred: " + reserved.status().message());
    }
    throw Invalid(def, MetaString(obj, "name"),
                  {{"FieldValueInvalid", "spec.clusterIPs",
                    fmt::format("spec.clusterIPs: Invalid value: [\"{}\"]: {}", requested,
                                reserved.status().message())}});
  }
  spec["clusterIP"] = reserved->address();
  spec["clusterIPs"] = json::array({reserved->address()});
  return std::move(*reserved);
}

Mutation ApiServer::Impl::FinishUpdate(const ResourceDef& def, const json& current, json next,
                                       const std::string& sub, const http::Request* req,
                                       http::Response* res, bool track) const {
  json result;
  if (sub == "status") {
    result = current;
    if (next.contains("status")) {
      result["status"] = next["status"];
    } else {
      result.erase("status");
    }
  } else {
    result = std::move(next);
    json& meta = result["metadata"];
    const json& old = Meta(current);
    for (const char* k : {"uid", "creationTimestamp", "deletionTimestamp",
                          "deletionGracePeriodSeconds", "generation", "name", "namespace"}) {
      if (old.contains(k)) {
        meta[k] = old[k];
      } else {
        meta.erase(k);
      }
    }
    if (def.status_subresource) {
      if (current.contains("status")) {
        result["status"] = current["status"];
      } else {
        result.erase("status");
      }
    }
    def.strategy->PrepareForUpdate(current, result);
    if (def.generation && SpecChanged(current, result)) meta["generation"] = old.value("generation", int64_t{1}) + 1;
    if (IsDeleting(current)) {
      std::vector<std::string> before = Finalizers(current);
      for (const std::string& f : Finalizers(result)) {
        if (std::find(before.begin(), before.end(), f) == before.end()) {
          throw Invalid(def, MetaString(current, "name"),
                        {{"FieldValueForbidden", "metadata.finalizers",
                          "metadata.finalizers: Forbidden: no new finalizers can be added if the "
                          "object is being deleted, found new finalizers [\"" + f + "\"]"}});
        }
      }
    }
  }
  CheckTypes(def, result);
  if (track && req != nullptr) {
    const FieldScope scope{&def.strategy->Merges(), def.status_subresource, sub == "status"};
    RecordUpdate(&current, result, FieldManager(*req), def.ApiVersion(), scope, Now());
  } else if (!Meta(result).contains("managedFields") && Meta(current).contains("managedFields")) {
    result["metadata"]["managedFields"] = Meta(current).at("managedFields");
  }
  ValidateObject(def, result, req, res, &current);
  json a = result, b = current;
  a["metadata"].erase("resourceVersion");
  b["metadata"].erase("resourceVersion");
  if (a == b) return {};  // a no-op write changes nothing, not even the resourceVersion
  if (IsDeleting(result) && Finalizers(result).empty() && def.StorageKey() != kNamespaceKey) {
    return {Mutation::kDelete, {}};
  }
  return {Mutation::kPut, std::move(result)};
}

void ApiServer::Impl::Update(const Target& t, const http::Request& req, http::Response& res) {
  const ResourceDef& def = *t.def;
  json obj = ParseBody(req, /*creating=*/false);
  CheckTypeMeta(def, obj);
  CheckNamespace(def, t.ns, obj);
  const std::string body_name = MetaString(obj, "name");
  if (body_name != t.name) {
    throw BadRequest(fmt::format("the name of the object ({}) does not match the name on the URL ({})",
                                 body_name, t.name));
  }
  const std::string rv = MetaString(obj, "resourceVersion");
  const bool dry_run = DryRun(req, json::object());
  bool deleted = false;
  ObjectPtr stored = Commit(def, t.ns, t.name, [&](const json* cur) {
    if (!cur) throw NotFound(def, t.name);
    if (rv.empty()) {
      throw Invalid(def, t.name, {{"FieldValueInvalid", "metadata.resourceVersion",
                                   "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"}});
    }
    if (rv != MetaString(*cur, "resourceVersion")) {
      throw Conflict(def, t.name, "the object has been modified; please apply your changes to the latest version and try again");
    }
    Mutation m = FinishUpdate(def, *cur, obj, t.sub, &req, &res);
    deleted = m.kind == Mutation::kDelete;
    return m;
  }, dry_run);
  if (def.StorageKey() == kCrdKey && !deleted && !dry_run) ServeCrd(*stored);
  WriteJson(res, 200, *stored);
}

}  // namespace cstor::apiserver
