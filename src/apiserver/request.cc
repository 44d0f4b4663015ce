#include "apiserver/request.h"

#include <sstream>

#include <fmt/format.h>

#include "api/yaml.h"
#include "apiserver/protobuf.h"
#include "apiserver/selector.h"

namespace cstor::apiserver {

using nlohmann::json;

json StatusObject(int code, const std::string& reason, const std::string& message,
                  const json& details) {
  json s = {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()},
            {"status", code < 300 ? "Success" : "Failure"}, {"message", message},
            {"reason", reason}, {"code", code}};
  if (!details.is_null()) s["details"] = details;
  return s;
}

json Details(const ResourceDef& def, const std::string& name) {
  return {{"name", name}, {"group", def.group}, {"kind", def.plural}};
}

ApiError BadRequest(std::string msg) { return {400, "BadRequest", std::move(msg)}; }
ApiError NotFoundPath() {
  return {404, "NotFound", "the server could not find the requested resource"};
}
ApiError NotFound(const ResourceDef& def, const std::string& name) {
  return {404, "NotFound", fmt::format("{} \"{}\" not found", def.QualifiedName(), name),
          Details(def, name)};
}
ApiError AlreadyExists(const ResourceDef& def, const std::string& name) {
  return {409, "AlreadyExists", fmt::format("{} \"{}\" already exists", def.QualifiedName(), name),
          Details(def, name)};
}
ApiError Conflict(const ResourceDef& def, const std::string& name, const std::string& why) {
  return {409, "Conflict",
          fmt::format("Operation cannot be fulfilled on {} \"{}\": {}", def.QualifiedName(), name,
                      why),
          Details(def, name)};
}
ApiError Invalid(const ResourceDef& def, const std::string& name,
                 const std::vector<FieldError>& errors) {
  json causes = json::array();
  std::string list;
  for (const FieldError& e : errors) {
    // Clients print causes as "field: message", so the message does not repeat the field.
    std::string detail = e.message;
    if (detail.starts_with(e.field + ": ")) detail = detail.substr(e.field.size() + 2);
    causes.push_back({{"reason", e.reason}, {"message", detail}, {"field", e.field}});
    list += (list.empty() ? "" : ", ") + e.message;
  }
  json details = Details(def, name);
  details["kind"] = def.kind;
  details["causes"] = causes;
  std::string kind = def.group.empty() ? def.kind : def.kind + "." + def.group;
  return {422, "Invalid",
          fmt::format("{} \"{}\" is invalid: {}", kind, name,
                      errors.size() == 1 ? list : "[" + list + "]"),
          details};
}

std::string FieldManager(const http::Request& req) {
  std::string manager = req.get_param_value("fieldManager");
  if (manager.empty()) {
    manager = req.get_header_value("User-Agent");
    manager = manager.substr(0, manager.find('/'));
  }
  if (manager.size() > 128) throw BadRequest("fieldManager: Too long: may not be more than 128 bytes");
  return manager.empty() ? "unknown" : manager;
}

json ParseBody(const http::Request& req, bool creating) {
  std::string type = req.get_header_value("Content-Type");
  type = type.substr(0, type.find(';'));
  if (type == "application/yaml") {
    auto parsed = api::ParseYaml(req.body);
    if (!parsed.ok() || !parsed->is_object()) {
      throw BadRequest("the request body is not a valid YAML object: " +
                       (parsed.ok() ? std::string("not a map") : parsed.status().message()));
    }
    return *parsed;
  }
  if (type == kProtobufContentType) {
    auto decoded = DecodeKubernetesProtobuf(req.body, creating);
    if (decoded.ok()) return *decoded;
    if (decoded.status().Is(Code::kFailedPrecondition)) {
      throw ApiError(415, "UnsupportedMediaType", decoded.status().message());
    }
    throw BadRequest(decoded.status().message());
  }
  if (!type.empty() && type != "application/json") {
    throw ApiError(415, "UnsupportedMediaType",
                   fmt::format("the body of the request was in an unknown format - accepted media "
                               "types include: application/json, application/yaml (got \"{}\")", type));
  }
  return ParseBody(req.body);
}

json ParseBody(const std::string& body) {
  if (body.empty()) throw BadRequest("the request body is empty");
  try {
    json j = json::parse(body);
    if (!j.is_object()) throw BadRequest("the request body must be a JSON object");
    return j;
  } catch (const json::parse_error& e) {
    throw BadRequest(std::string("the request body is not valid JSON: ") + e.what());
  }
}

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream ss(path);
  std::string p;
  while (std::getline(ss, p, '/')) {
    if (!p.empty()) parts.push_back(p);
  }
  return parts;
}

int64_t IntParam(const http::Request& req, const char* name, int64_t fallback) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  try {
    size_t used = 0;
    int64_t n = std::stoll(v, &used);
    if (used != v.size() || n < 0) throw std::invalid_argument(v);
    return n;
  } catch (const std::exception&) {
    throw BadRequest(fmt::format("invalid {}: \"{}\"", name, v));
  }
}

bool BoolParam(const http::Request& req, const char* name) {
  if (!req.has_param(name)) return false;
  const std::string v = req.get_param_value(name);
  return v == "1" || v == "true";
}

bool DryRun(const http::Request& req, const json& options) {
  std::vector<std::string> values;
  if (req.has_param("dryRun")) values.push_back(req.get_param_value("dryRun"));
  if (options.is_object() && options.contains("dryRun") && options["dryRun"].is_array()) {
    for (const auto& v : options["dryRun"]) values.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  }
  for (const std::string& v : values) {
    if (v != "All") throw BadRequest(fmt::format("dryRun \"{}\" is not supported; the only value is All", v));
  }
  return !values.empty();
}

bool WantsTable(const http::Request& req) {
  return req.get_header_value("Accept").find("as=Table") != std::string::npos;
}

IncludeObject IncludeParam(const http::Request& req) {
  const std::string v = req.get_param_value("includeObject");
  if (v == "None") return IncludeObject::kNone;
  if (v == "Object") return IncludeObject::kObject;
  return IncludeObject::kMetadata;
}

Result<FieldSelector> ParseFieldSelector(const ResourceDef& def, const http::Request& req) {
  auto fields = FieldSelector::Parse(req.get_param_value("fieldSelector"));
  if (!fields.ok()) throw BadRequest(fields.status().message());
  for (const std::string& path : fields->Paths()) {
    if (path == "metadata.name" || path == "metadata.namespace") continue;
    if (std::find(def.selectable_fields.begin(), def.selectable_fields.end(), path) !=
        def.selectable_fields.end()) {
      continue;
    }
    throw BadRequest(fmt::format("field label not supported: {}", path));
  }
  // A converted resource's selectors name its served fields; objects are stored in
  // the other shape.
  if (def.conversion) fields->RenamePaths(def.conversion->field_labels);
  return fields;
}

}  // namespace cstor::apiserver
