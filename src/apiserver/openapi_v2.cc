#include "apiserver/openapi_v2.h"

#include <cstring>

#include "apiserver/protobuf_writer.h"

namespace cstor::apiserver {
namespace {

using nlohmann::json;

using pbwrite::Bytes;
std::string Bool(uint32_t number, bool v) { return pbwrite::Int(number, v ? 1 : 0); }
std::string Strings(uint32_t number, const json& list) {
  std::string out;
  for (const json& s : list) {
    if (s.is_string()) out += Bytes(number, s.get<std::string>());
  }
  return out;
}
// gnostic's Any: the value as YAML text (field 2); JSON is YAML.
std::string Any(const json& value) { return Bytes(2, value.dump()); }
std::string NamedAny(const std::string& name, const json& value) {
  return Bytes(1, name) + Bytes(2, Any(value));
}

// Schema (gnostic field numbers): 4 description, 5 default, 19 required, 20 enum,
// 21 additionalProperties, 22 type, 23 items, 25 properties, 31 vendor extensions.
std::string Schema(const json& s) {
  std::string out;
  if (!s.is_object()) return out;
  if (s.contains("format") && s["format"].is_string()) out += Bytes(2, s["format"].get<std::string>());
  if (s.contains("description") && s["description"].is_string()) out += Bytes(4, s["description"].get<std::string>());
  if (s.contains("default")) out += Bytes(5, Any(s["default"]));
  if (s.contains("required") && s["required"].is_array()) out += Strings(19, s["required"]);
  if (s.contains("enum") && s["enum"].is_array()) {
    for (const json& e : s["enum"]) out += Bytes(20, Any(e));
  }
  if (auto it = s.find("additionalProperties"); it != s.end()) {
    out += Bytes(21, it->is_boolean() ? Bool(2, it->get<bool>()) : Bytes(1, Schema(*it)));
  }
  if (s.contains("type") && s["type"].is_string()) out += Bytes(22, Bytes(1, s["type"].get<std::string>()));
  if (auto it = s.find("items"); it != s.end() && it->is_object()) out += Bytes(23, Bytes(1, Schema(*it)));
  if (auto it = s.find("properties"); it != s.end() && it->is_object()) {
    std::string props;
    for (const auto& [name, child] : it->items()) props += Bytes(1, Bytes(1, name) + Bytes(2, Schema(child)));
    out += Bytes(25, props);
  }
  if (auto it = s.find("x-kubernetes-group-version-kind"); it != s.end()) {
    out += Bytes(31, NamedAny("x-kubernetes-group-version-kind", *it));
  }
  return out;
}

// A PATCH operation: 7 consumes, 8 parameters (each a query parameter: ParametersItem 1 ->
// Parameter 2 (non-body) -> QueryParameterSubSchema 3 with 2 in, 4 name, 6 type),
// 13 vendor extensions.
std::string Operation(const json& op) {
  std::string out = Strings(7, op.value("consumes", json::array()));
  for (const json& p : op.value("parameters", json::array())) {
    const std::string query = Bytes(2, p.value("in", "query")) + Bytes(4, p.value("name", "")) +
                              Bytes(6, p.value("type", "string"));
    out += Bytes(8, Bytes(1, Bytes(2, Bytes(3, query))));
  }
  if (auto it = op.find("x-kubernetes-group-version-kind"); it != op.end()) {
    out += Bytes(13, NamedAny("x-kubernetes-group-version-kind", *it));
  }
  return out;
}

}  // namespace

std::string DefinitionName(const ResourceDef& def) {
  if (def.custom) {
    // The group's labels reversed: cstor.openebs.io -> io.openebs.cstor.
    std::string reversed, group = def.group;
    while (!group.empty()) {
      const size_t dot = group.rfind('.');
      reversed += (reversed.empty() ? "" : ".") + group.substr(dot == std::string::npos ? 0 : dot + 1);
      group = dot == std::string::npos ? "" : group.substr(0, dot);
    }
    return reversed + "." + def.version + "." + def.kind;
  }
  if (def.group == "apiextensions.k8s.io") {
    return "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions." + def.version + "." + def.kind;
  }
  const std::string short_group = def.group.empty() ? "core" : def.group.substr(0, def.group.find('.'));
  return "io.k8s.api." + short_group + "." + def.version + "." + def.kind;
}

nlohmann::json OpenApiV2Document(const std::vector<ResourceDefPtr>& defs) {
  json paths = json::object();
  json definitions = json::object();
  for (const ResourceDefPtr& d : defs) {
    const json gvk = {{"group", d->group}, {"version", d->version}, {"kind", d->kind}};
    const std::string prefix = d->group.empty() ? "/api/" + d->version : "/apis/" + d->group + "/" + d->version;
    const std::string item = prefix + (d->namespaced ? "/namespaces/{namespace}/" : "/") + d->plural + "/{name}";
    json consumes = {"application/json-patch+json", "application/merge-patch+json"};
    if (!d->custom) consumes.push_back("application/strategic-merge-patch+json");
    paths[item] = {{"patch", {{"consumes", consumes},
                              {"parameters", {{{"name", "dryRun"}, {"in", "query"}, {"type", "string"}},
                                              {{"name", "fieldManager"}, {"in", "query"}, {"type", "string"}},
                                              {{"name", "fieldValidation"}, {"in", "query"}, {"type", "string"}}}},
                              {"x-kubernetes-group-version-kind", gvk}}}};
    json schema;
    if (d->custom && d->schema.is_object() && !d->schema.empty()) {
      schema = d->schema;
    } else {
      schema = {{"type", "object"},
                {"description", d->kind + " (" + d->ApiVersion() + "); its fields are validated by the server."}};
    }
    schema["x-kubernetes-group-version-kind"] = json::array({gvk});
    definitions[DefinitionName(*d)] = schema;
  }
  return {{"swagger", "2.0"}, {"info", {{"title", "cstor"}, {"version", "v1.32.0"}}},
          {"paths", paths}, {"definitions", definitions}};
}

std::string EncodeOpenApiV2(const nlohmann::json& document) {
  std::string out = Bytes(1, document.value("swagger", "2.0"));
  const json info = document.value("info", json::object());
  out += Bytes(2, Bytes(1, info.value("title", "")) + Bytes(2, info.value("version", "")));
  std::string paths;
  const json path_items = document.value("paths", json::object());
  for (const auto& [path, item] : path_items.items()) {
    std::string path_item;
    if (item.contains("patch")) path_item += Bytes(8, Operation(item["patch"]));
    paths += Bytes(2, Bytes(1, path) + Bytes(2, path_item));
  }
  out += Bytes(8, paths);
  std::string definitions;
  const json schemas = document.value("definitions", json::object());
  for (const auto& [name, schema] : schemas.items()) {
    definitions += Bytes(1, Bytes(1, name) + Bytes(2, Schema(schema)));
  }
  out += Bytes(9, definitions);
  return out;
}

}  // namespace cstor::apiserver
