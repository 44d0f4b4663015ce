// Patches: JSON patch, merge patch, and strategic merge patch.
#include "apiserver/impl.h"

#include <fmt/format.h>

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

void ApiServer::Impl::Patch(const Target& t, const http::Request& req, http::Response& res) {
  const ResourceDef& def = *t.def;
  std::string type = req.get_header_value("Content-Type");
  type = type.substr(0, type.find(';'));
  json patch;
  try {
    patch = json::parse(req.body);
  } catch (const json::parse_error& e) {
    throw BadRequest(std::string("the patch is not valid JSON: ") + e.what());
  }
  const bool json_patch = type == "application/json-patch+json";
  // Custom resources have no merge keys: a real server refuses strategic merge patches
  // for them, so code that sends one fails here as it would on a cluster.
  const bool strategic = type == "application/strategic-merge-patch+json" && !def.custom;
  if (!json_patch && !strategic && type != "application/merge-patch+json") {
    throw ApiError(415, "UnsupportedMediaType",
                   fmt::format("the body of the request was in an unknown format - accepted "
                               "media types include: application/json-patch+json, "
                               "application/merge-patch+json{} (got \"{}\")",
                               def.custom ? "" : ", application/strategic-merge-patch+json", type));
  }
  if (json_patch ? !patch.is_array() : !patch.is_object()) {
    throw BadRequest(json_patch ? "a JSON patch must be an array of operations"
                                : "a merge patch must be a JSON object");
  }
  const bool dry_run = DryRun(req, json::object());
  bool deleted = false;
  ObjectPtr stored = Commit(def, t.ns, t.name, [&](const json* cur) {
    if (!cur) throw NotFound(def, t.name);
    json next;
    if (json_patch) {
      next = ApplyJsonPatch(*cur, patch);
    } else if (strategic) {
      auto merged = StrategicMerge(*cur, patch, def.strategy->Merges());
      if (!merged.ok()) throw BadRequest(merged.status().message());
      next = std::move(*merged);
    } else {
      next = *cur;
      next.merge_patch(patch);
    }
    if (!next.is_object() || !next.contains("metadata") || !next["metadata"].is_object()) {
      throw ApiError(422, "Invalid", "the patch removes the object's metadata");
    }
    const std::string rv = MetaString(next, "resourceVersion");
    if (rv != MetaString(*cur, "resourceVersion")) {
      throw Conflict(def, t.name, "the object has been modified; please apply your changes to the latest version and try again");
    }
    if (next.value("apiVersion", "") != def.ApiVersion() || next.value("kind", "") != def.kind) {
      throw BadRequest("a patch may not change apiVersion or kind");
    }
    Mutation m = FinishUpdate(def, *cur, std::move(next), t.sub, &req, &res);
    deleted = m.kind == Mutation::kDelete;
    return m;
  }, dry_run);
  if (def.StorageKey() == kCrdKey && !deleted && !dry_run) ServeCrd(*stored);
  WriteJson(res, 200, *stored);
}

}  // namespace cstor::apiserver
