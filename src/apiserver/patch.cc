// Patches: JSON patch, merge patch, and strategic merge patch.
#include "apiserver/impl.h"

#include <fmt/format.h>

#include "api/yaml.h"
#include "apiserver/managed_fields.h"
#include "apiserver/objects.h"
#include "apiserver/strategic_merge.h"

namespace cstor::apiserver {

using nlohmann::json;

namespace {

// A JSON patch, one operation at a time: "copy" and "add" can double an object with each
// operation, so the object may not outgrow the request size limit along the way.
constexpr size_t kMaxPatchOperations = 10'000;

json ApplyJsonPatch(const json& object, const json& patch) {
  if (patch.size() > kMaxPatchOperations) {
    throw ApiError(422, "Invalid", fmt::format("the JSON patch has more than {} operations", kMaxPatchOperations));
  }
  json out = object;
  for (const json& op : patch) {
    try {
      out = out.patch(json::array({op}));
    } catch (const json::exception& e) {
      throw ApiError(422, "Invalid", std::string("the JSON patch could not be applied: ") + e.what());
    }
    if (op.is_object() && (op.value("op", "") == "copy" || op.value("op", "") == "add") &&
        out.dump().size() > kMaxObjectBytes) {
      throw ApiError(422, "Invalid", "the JSON patch makes the object larger than 3 MiB");
    }
  }
  return out;
}

}  // namespace

ParsedPatch ParsePatch(const ResourceDef& def, const http::Request& req) {
  std::string type = req.get_header_value("Content-Type");
  type = type.substr(0, type.find(';'));
  ParsedPatch p;
  if (type == "application/json-patch+json") {
    p.type = ParsedPatch::kJson;
  } else if (type == "application/merge-patch+json") {
    p.type = ParsedPatch::kMerge;
  } else if (type == "application/strategic-merge-patch+json" && !def.custom) {
    // Custom resources have no merge keys: a real server refuses strategic merge patches
    // for them, so code that sends one fails here as it would on a cluster.
    p.type = ParsedPatch::kStrategic;
  } else {
    throw ApiError(415, "UnsupportedMediaType",
                   fmt::format("the body of the request was in an unknown format - accepted "
                               "media types include: application/json-patch+json, "
                               "application/merge-patch+json, application/apply-patch+yaml{} (got \"{}\")",
                               def.custom ? "" : ", application/strategic-merge-patch+json", type));
  }
  try {
    p.patch = json::parse(req.body);
  } catch (const json::parse_error& e) {
    throw BadRequest(std::string("the patch is not valid JSON: ") + e.what());
  }
  const bool json_patch = p.type == ParsedPatch::kJson;
  if (json_patch ? !p.patch.is_array() : !p.patch.is_object()) {
    throw BadRequest(json_patch ? "a JSON patch must be an array of operations"
                                : "a merge patch must be a JSON object");
  }
  return p;
}

json ApplyPatch(const json& cur, const ParsedPatch& p, const MergeSchema& merges) {
  json next;
  switch (p.type) {
    case ParsedPatch::kJson:
      next = ApplyJsonPatch(cur, p.patch);
      break;
    case ParsedPatch::kStrategic: {
      auto merged = StrategicMerge(cur, p.patch, merges);
      if (!merged.ok()) throw BadRequest(merged.status().message());
      next = std::move(*merged);
      break;
    }
    case ParsedPatch::kMerge:
      next = cur;
      next.merge_patch(p.patch);
      break;
  }
  return next;
}

json ApiServer::Impl::PatchObject(const ResourceDef& def, const json& cur, const ParsedPatch& p) const {
  json next = ApplyPatch(cur, p, def.strategy->Merges());
  if (!next.is_object() || !next.contains("metadata") || !next["metadata"].is_object()) {
    throw ApiError(422, "Invalid", "the patch removes the object's metadata");
  }
  const std::string name = MetaString(cur, "name");
  if (MetaString(next, "resourceVersion") != MetaString(cur, "resourceVersion")) {
    throw Conflict(def, name, "the object has been modified; please apply your changes to the latest version and try again");
  }
  if (next.value("apiVersion", "") != def.ApiVersion() || next.value("kind", "") != def.kind) {
    throw BadRequest("a patch may not change apiVersion or kind");
  }
  return next;
}

void ApiServer::Impl::Patch(const Target& t, const http::Request& req, http::Response& res) {
  const ResourceDef& def = *t.def;
  std::string type = req.get_header_value("Content-Type");
  if (type.substr(0, type.find(';')) == "application/apply-patch+yaml") return ServerSideApply(t, req, res);
  const ParsedPatch patch = ParsePatch(def, req);
  const bool dry_run = DryRun(req, json::object());
  bool deleted = false;
  ObjectPtr stored = Commit(def, t.ns, t.name, [&](const json* cur) {
    if (!cur) throw NotFound(def, t.name);
    Mutation m = FinishUpdate(def, *cur, PatchObject(def, *cur, patch), t.sub, &req, &res);
    deleted = m.kind == Mutation::kDelete;
    return m;
  }, dry_run);
  if (def.StorageKey() == kCrdKey && !deleted && !dry_run) ServeCrd(*stored);
  WriteJson(res, 200, *stored);
}

// Server-side apply: the configuration is merged into the object (or creates it), the
// fields it names become its manager's, and another manager's fields it would change are
// conflicts unless forced (managed_fields.h).
void ApiServer::Impl::ServerSideApply(const Target& t, const http::Request& req, http::Response& res) {
  const ResourceDef& def = *t.def;
  auto parsed = api::ParseYaml(req.body);
  if (!parsed.ok() || !parsed->is_object()) {
    throw BadRequest("the apply configuration is not a YAML or JSON object: " +
                     (parsed.ok() ? std::string("not a map") : parsed.status().message()));
  }
  json config = std::move(*parsed);
  CheckTypeMeta(def, config);
  CheckNamespace(def, t.ns, config);
  if (MetaString(config, "name") != t.name) {
    throw BadRequest(fmt::format("the name of the object ({}) does not match the name on the URL ({})",
                                 MetaString(config, "name"), t.name));
  }
  const std::string manager = req.get_param_value("fieldManager");
  if (manager.empty()) throw BadRequest("PATCH requests of type application/apply-patch+yaml require fieldManager to be set");
  if (manager.size() > 128) throw BadRequest("fieldManager: Too long: may not be more than 128 bytes");
  const bool force = BoolParam(req, "force");
  const FieldScope scope{&def.strategy->Merges(), def.status_subresource, t.sub == "status"};
  const bool dry_run = DryRun(req, json::object());

  auto apply = [&](const json* cur) {
    std::vector<ApplyConflict> conflicts;
    json next = Apply(cur, config, manager, force, def.ApiVersion(), scope, Now(), conflicts);
    if (conflicts.empty()) return next;
    json causes = json::array();
    std::string list;
    for (const ApplyConflict& c : conflicts) {
      causes.push_back({{"reason", "FieldManagerConflict"},
                        {"message", fmt::format("conflict with \"{}\"", c.manager)},
                        {"field", c.path}});
      list += fmt::format("\n* {}: {}", c.manager, c.path);
    }
    throw ApiError(409, "Conflict",
                   fmt::format("Apply failed with {} conflict{}: conflict with {}{}", conflicts.size(),
                               conflicts.size() == 1 ? "" : "s",
                               conflicts.size() == 1 ? "\"" + conflicts[0].manager + "\": " + conflicts[0].path : "",
                               conflicts.size() == 1 ? "" : list),
                   {{"name", t.name}, {"group", def.group}, {"kind", def.plural}, {"causes", causes}});
  };

  if (!store_->Get(def.StorageKey(), t.ns, t.name)) {
    if (!t.sub.empty()) throw NotFound(def, t.name);
    // Apply creates: the configuration, owned by its manager, goes the way of a create.
    json created = apply(nullptr);
    const json managed = Meta(created).value("managedFields", json::array());
    return CreateObject(t, std::move(created), req, res, &managed);
  }
  bool deleted = false;
  ObjectPtr stored = Commit(def, t.ns, t.name, [&](const json* cur) {
    if (!cur) throw NotFound(def, t.name);
    json next = apply(cur);
    next["metadata"]["resourceVersion"] = MetaString(*cur, "resourceVersion");
    Mutation m = FinishUpdate(def, *cur, std::move(next), t.sub, &req, &res, /*track=*/false);
    deleted = m.kind == Mutation::kDelete;
    return m;
  }, dry_run);
  if (def.StorageKey() == kCrdKey && !deleted && !dry_run) ServeCrd(*stored);
  WriteJson(res, 200, *stored);
}

}  // namespace cstor::apiserver
