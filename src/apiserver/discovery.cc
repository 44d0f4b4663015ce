// Discovery (/api, /apis, /version) and OpenAPI (v3 here, v2 in openapi_v2.cc).
#include "apiserver/impl.h"

#include <map>
#include <set>

#include <fmt/format.h>

#include "apiserver/openapi_v2.h"

namespace cstor::apiserver {

using nlohmann::json;

bool ApiServer::Impl::Discovery(const http::Request& req, http::Response& res,
                                const std::vector<std::string>& parts) {
  if (req.method != "GET") return false;
  auto resource_list = [&](const std::string& group, const std::string& version) {
    json resources = json::array();
    ReaderLock lock(&registry_mu_);
    for (const ResourceDefPtr& d : registry_.All()) {
      if (d->group != group || d->version != version) continue;
      json r = {{"name", d->plural}, {"singularName", d->singular}, {"namespaced", d->namespaced},
                {"kind", d->kind},
                {"verbs", {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}}};
      if (!d->short_names.empty()) r["shortNames"] = d->short_names;
      if (d->custom) r["categories"] = {"all", "cstor"};
      resources.push_back(r);
      if (d->status_subresource) {
        resources.push_back({{"name", d->plural + "/status"}, {"singularName", ""},
                             {"namespaced", d->namespaced}, {"kind", d->kind},
                             {"verbs", {"get", "patch", "update"}}});
      }
      if (d->scale_subresource) {
        resources.push_back({{"name", d->plural + "/scale"}, {"singularName", ""}, {"namespaced", d->namespaced},
                             {"group", "autoscaling"}, {"version", "v1"}, {"kind", "Scale"},
                             {"verbs", {"get", "patch", "update"}}});
      }
      if (d->log_subresource) {
        resources.push_back({{"name", d->plural + "/log"}, {"singularName", ""},
                             {"namespaced", d->namespaced}, {"kind", d->kind}, {"verbs", {"get"}}});
      }
    }
    if (resources.empty()) throw NotFoundPath();
    return json{{"kind", "APIResourceList"}, {"apiVersion", "v1"},
                {"groupVersion", group.empty() ? version : group + "/" + version},
                {"resources", resources}};
  };
  auto groups = [&] {
    std::map<std::string, std::set<std::string>> versions;
    ReaderLock lock(&registry_mu_);
    for (const ResourceDefPtr& d : registry_.All()) {
      if (!d->group.empty()) versions[d->group].insert(d->version);
    }
    json list = json::array();
    for (const auto& [g, vs] : versions) {
      json group = {{"name", g}, {"versions", json::array()}};
      for (const std::string& v : vs) group["versions"].push_back({{"groupVersion", g + "/" + v}, {"version", v}});
      group["preferredVersion"] = group["versions"][0];
      list.push_back(group);
    }
    return list;
  };
  if (parts.size() == 2 && parts[0] == "openapi" && parts[1] == "v2") {
    json doc;
    {
      ReaderLock lock(&registry_mu_);
      doc = OpenApiV2Document(registry_.All());
    }
    if (req.get_header_value("Accept").find("protobuf") != std::string::npos) {
      res.set_content(EncodeOpenApiV2(doc), "application/com.github.proto-openapi.spec.v2.v1.0+protobuf");
    } else {
      WriteJson(res, 200, doc);
    }
  } else if (!parts.empty() && parts[0] == "openapi") {
    WriteJson(res, 200, OpenApi(parts));
  } else if (parts.size() == 1 && parts[0] == "version") {
    WriteJson(res, 200, {{"major", "1"}, {"minor", "32"}, {"gitVersion", "v1.32.0-cstor"},
                         {"platform", "linux/amd64"}, {"compiler", "gc"}});
  } else if (parts.size() == 1 && parts[0] == "api") {
    WriteJson(res, 200, {{"kind", "APIVersions"}, {"versions", {"v1"}},
                         {"serverAddressByClientCIDRs", {{{"clientCIDR", "0.0.0.0/0"},
                                                          {"serverAddress", fmt::format("{}:{}", opts_.address, port_)}}}}});
  } else if (parts.size() == 2 && parts[0] == "api") {
    WriteJson(res, 200, resource_list("", parts[1]));
  } else if (parts.size() == 1 && parts[0] == "apis") {
    WriteJson(res, 200, {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups()}});
  } else if (parts.size() == 2 && parts[0] == "apis") {
    for (const json& g : groups()) {
      if (g["name"] == parts[1]) {
        json out = g;
        out["kind"] = "APIGroup";
        out["apiVersion"] = "v1";
        WriteJson(res, 200, out);
        return true;
      }
    }
    throw NotFoundPath();
  } else if (parts.size() == 3 && parts[0] == "apis") {
    WriteJson(res, 200, resource_list(parts[1], parts[2]));
  } else {
    return false;
  }
  return true;
}

// OpenAPI v3, as much as clients use: an index of group-versions, and per group-version
// the operations each resource supports, so that kubectl sees that the server validates
// fields itself (the fieldValidation parameter), and each CRD's schema.
json ApiServer::Impl::OpenApi(const std::vector<std::string>& parts) const {
  ReaderLock lock(&registry_mu_);
  auto gv_path = [](const ResourceDef& d) {
    return d.group.empty() ? "api/" + d.version : "apis/" + d.group + "/" + d.version;
  };
  if (parts.size() == 2 && parts[1] == "v3") {
    json paths = json::object();
    for (const ResourceDefPtr& d : registry_.All()) {
      paths[gv_path(*d)] = {{"serverRelativeURL", "/openapi/v3/" + gv_path(*d)}};
    }
    return {{"paths", paths}};
  }
  if (parts.size() < 3 || parts[1] != "v3") throw NotFoundPath();
  std::string wanted;
  for (size_t i = 2; i < parts.size(); ++i) wanted += (i > 2 ? "/" : "") + parts[i];
  json paths = json::object();
  json schemas = json::object();
  for (const ResourceDefPtr& d : registry_.All()) {
    if (gv_path(*d) != wanted) continue;
    const json gvk = {{"group", d->group}, {"version", d->version}, {"kind", d->kind}};
    const json params = {{{"name", "fieldValidation"}, {"in", "query"}, {"schema", {{"type", "string"}}}},
                         {{"name", "dryRun"}, {"in", "query"}, {"schema", {{"type", "string"}}}}};
    json body = {{"content", {{"application/json-patch+json", json::object()},
                              {"application/merge-patch+json", json::object()}}}};
    if (!d->custom) body["content"]["application/strategic-merge-patch+json"] = json::object();
    const std::string item = "/" + wanted + (d->namespaced ? "/namespaces/{namespace}/" : "/") +
                             d->plural + "/{name}";
    for (const std::string& p : {item, item + "/status"}) {
      if (p != item && !d->status_subresource) continue;
      paths[p] = {{"patch", {{"x-kubernetes-group-version-kind", gvk}, {"parameters", params},
                             {"requestBody", body}}},
                  {"put", {{"x-kubernetes-group-version-kind", gvk}, {"parameters", params}}}};
    }
    const std::string schema_name = DefinitionName(*d);
    json schema = d->schema.is_object() && !d->schema.empty() ? d->schema
                                                              : json{{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}};
    schema["x-kubernetes-group-version-kind"] = json::array({gvk});
    schemas[schema_name] = schema;
  }
  if (paths.empty()) throw NotFoundPath();
  return {{"openapi", "3.0.0"}, {"info", {{"title", "cstor"}, {"version", "v1.32.0"}}},
          {"paths", paths}, {"components", {{"schemas", schemas}}}};
}

}  // namespace cstor::apiserver
