// The scale subresource (deployments/scale, statefulsets/scale): the object's replica
// count as an autoscaling/v1 Scale, which `kubectl scale` and autoscalers read and write.
// A GET answers the Scale; a PUT (kubectl scale --current-replicas, --resource-version)
// or a patch (kubectl scale's default) changes spec.replicas and nothing else.
#include "apiserver/impl.h"

#include <fmt/format.h>

#include "apiserver/objects.h"

namespace cstor::apiserver {

using nlohmann::json;

namespace {

// spec.selector as the text form of a label selector, as status.selector carries it.
std::string SelectorText(const json& obj) {
  const json* sel = nullptr;
  if (obj.contains("spec") && obj["spec"].is_object() && obj["spec"].contains("selector")) sel = &obj["spec"]["selector"];
  if (sel == nullptr || !sel->is_object()) return "";
  std::vector<std::pair<std::string, std::string>> terms;  // by key, as Kubernetes orders them
  const json labels = sel->value("matchLabels", json::object());
  for (const auto& [k, v] : labels.items()) {
    terms.emplace_back(k, k + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
  }
  const json expressions = sel->value("matchExpressions", json::array());
  for (const json& e : expressions) {
    const std::string key = e.value("key", ""), op = e.value("operator", "");
    std::string values;
    const json listed = e.value("values", json::array());
    for (const json& v : listed) values += (values.empty() ? "" : ",") + v.get<std::string>();
    if (op == "In") terms.emplace_back(key, fmt::format("{} in ({})", key, values));
    if (op == "NotIn") terms.emplace_back(key, fmt::format("{} notin ({})", key, values));
    if (op == "Exists") terms.emplace_back(key, key);
    if (op == "DoesNotExist") terms.emplace_back(key, "!" + key);
  }
  std::stable_sort(terms.begin(), terms.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [key, term] : terms) out += (out.empty() ? "" : ",") + term;
  return out;
}

json ScaleOf(const json& obj) {
  const json& meta = Meta(obj);
  json scale_meta = json::object();
  for (const char* k : {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"}) {
    if (meta.contains(k)) scale_meta[k] = meta[k];
  }
  const json spec = obj.value("spec", json::object());
  const json status = obj.value("status", json::object());
  json out = {{"kind", "Scale"}, {"apiVersion", "autoscaling/v1"}, {"metadata", scale_meta},
              {"spec", {{"replicas", spec.value("replicas", int64_t{1})}}},
              {"status", {{"replicas", status.value("replicas", int64_t{0})}}}};
  if (std::string selector = SelectorText(obj); !selector.empty()) out["status"]["selector"] = selector;
  return out;
}

}  // namespace

void ApiServer::Impl::Scale(const Target& t, const http::Request& req, http::Response& res) {
  const ResourceDef& def = *t.def;
  if (req.method == "GET") {
    ObjectPtr obj = store_->Get(def.StorageKey(), t.ns, t.name);
    if (!obj) throw NotFound(def, t.name);
    return WriteJson(res, 200, ScaleOf(*obj));
  }
  if (req.method != "PUT" && req.method != "PATCH") {
    throw ApiError(405, "MethodNotAllowed", fmt::format("{} is not supported on {}", req.method, req.path));
  }
  std::optional<ParsedPatch> patch;
  json body;
  if (req.method == "PATCH") {
    ResourceDef scale_def;  // a Scale takes JSON and merge patches, and strategic ones (no keyed lists)
    scale_def.group = "autoscaling";
    scale_def.version = "v1";
    scale_def.kind = "Scale";
    patch = ParsePatch(scale_def, req);
  } else {
    body = ParseBody(req, /*creating=*/false);
    if (body.value("kind", "Scale") != "Scale" || body.value("apiVersion", "autoscaling/v1") != "autoscaling/v1") {
      throw BadRequest(fmt::format("the object's type ({}, {}) is not autoscaling/v1, Scale",
                                   body.value("apiVersion", ""), body.value("kind", "")));
    }
    if (MetaString(body, "name") != t.name) {
      throw BadRequest(fmt::format("the name of the object ({}) does not match the name on the URL ({})",
                                   MetaString(body, "name"), t.name));
    }
  }
  const bool dry_run = DryRun(req, json::object());
  ObjectPtr stored = Commit(def, t.ns, t.name, [&](const json* cur) {
    if (!cur) throw NotFound(def, t.name);
    const json current = ScaleOf(*cur);
    const json wanted = patch ? ApplyPatch(current, *patch, MergeSchema()) : body;  // a Scale has no lists
    // A resourceVersion in the Scale is a precondition, as on the object itself.
    const std::string rv = MetaString(wanted, "resourceVersion");
    if (!rv.empty() && rv != MetaString(*cur, "resourceVersion")) {
      throw Conflict(def, t.name, "the object has been modified; please apply your changes to the latest version and try again");
    }
    const json* replicas = wanted.contains("spec") && wanted["spec"].is_object() && wanted["spec"].contains("replicas")
                               ? &wanted["spec"]["replicas"] : nullptr;
    if (replicas == nullptr || !replicas->is_number_integer()) {
      throw ApiError(422, "Invalid", fmt::format("Scale.autoscaling \"{}\" is invalid: spec.replicas: Required value", t.name));
    }
    if (replicas->get<int64_t>() < 0 || replicas->get<int64_t>() > INT32_MAX) {
      throw ApiError(422, "Invalid",
                     fmt::format("Scale.autoscaling \"{}\" is invalid: spec.replicas: Invalid value: {}: must be "
                                 "greater than or equal to 0",
                                 t.name, replicas->dump()),
                     {{"name", t.name}, {"group", "autoscaling"}, {"kind", "Scale"},
                      {"causes", {{{"reason", "FieldValueInvalid"}, {"field", "spec.replicas"},
                                   {"message", fmt::format("Invalid value: {}: must be greater than or equal to 0",
                                                           replicas->dump())}}}}});
    }
    json next = *cur;
    next["spec"]["replicas"] = *replicas;
    return FinishUpdate(def, *cur, std::move(next), "", &req, &res);
  }, dry_run);
  WriteJson(res, 200, ScaleOf(*stored));
}

}  // namespace cstor::apiserver
