// Writes to a resource served from another's objects (ResourceDef::conversion), such as
// events.k8s.io/v1 Events over the core Events. A real server keeps one copy and converts
// at the edge; so does this: the body is checked against the served shape, converted to
// the stored one and written there, with every rule of the stored kind, and the answer is
// converted back. Patches apply to the served shape, so a client patches the fields it
// sees. Reads, lists and watches convert in place (reads.cc, watch.cc).
#include "apiserver/impl.h"

#include <fmt/format.h>

#include "api/yaml.h"
#include "apiserver/objects.h"

namespace cstor::apiserver {

using nlohmann::json;

namespace {

// The stored kind's answer, as the served resource answers it.
void ConvertAnswer(const ResourceDef& served, const ResourceDef& stored, http::Response& res) {
  if (res.status >= 300 || res.stream || res.content_type != "application/json") return;
  json body = json::parse(res.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) return;
  const std::string kind = body.value("kind", ""), api_version = body.value("apiVersion", "");
  if (api_version == stored.ApiVersion() && kind == stored.kind) {
    body = served.conversion->to_served(body);
  } else if (api_version == stored.ApiVersion() && kind == stored.list_kind) {
    body["apiVersion"] = served.ApiVersion();
    body["kind"] = served.list_kind;
    for (json& item : body["items"]) item = served.conversion->to_served(item);
  } else {
    return;
  }
  res.set_content(body.dump(), "application/json");
}

// An error the stored kind raised, naming the served resource instead.
ApiError Renamed(ApiError e, const ResourceDef& served, const ResourceDef& stored) {
  if (!e.details.is_object() || e.details.value("group", "") != stored.group) return e;
  e.details["group"] = served.group;
  for (const auto& [from, to] : {std::pair{stored.QualifiedName(), served.QualifiedName()},
                                 std::pair{stored.kind, served.kind + "." + served.group}}) {
    if (e.message.starts_with(from + " \"")) {
      e.message = to + e.message.substr(from.size());
      break;
    }
  }
  return e;
}

void SetJsonBody(http::Request& req, const json& body, const char* type = "application/json") {
  req.body = body.dump();
  req.headers.erase("Content-Type");
  req.headers.emplace("Content-Type", type);
}

}  // namespace

void ApiServer::Impl::ServeConverted(const Target& t, const http::Request& req, http::Response& res) {
  const ResourceDef& served = *t.def;
  const Conversion& conv = *served.conversion;
  Target inner = t;
  inner.def = FindDef(conv.storage_key);
  if (!inner.def) throw NotFoundPath();
  const ResourceDef& stored = *inner.def;
  http::Request r = req;
  // Selectors (a delete of a collection) name the served fields.
  if (req.has_param("fieldSelector")) {
    const std::string selector = ParseFieldSelector(served, req)->ToString();
    r.params.erase("fieldSelector");
    r.params.emplace("fieldSelector", selector);
  }
  // The served shape, checked, in the stored one.
  auto to_stored = [&](json body, bool creating) {
    CheckTypeMeta(served, body);
    DropUnknownFields(body, conv.served_fields, &req, &res);
    if (creating && conv.validate_create) {
      if (auto errors = conv.validate_create(body); !errors.empty()) {
        throw Invalid(served, MetaString(body, "name"), errors);
      }
    }
    return conv.to_stored(body);
  };
  try {
    if (req.method == "POST") {
      SetJsonBody(r, to_stored(ParseBody(req, /*creating=*/true), true));
    } else if (req.method == "PUT") {
      SetJsonBody(r, to_stored(ParseBody(req, /*creating=*/false), false));
    } else if (req.method == "PATCH") {
      std::string type = req.get_header_value("Content-Type");
      if (type.substr(0, type.find(';')) == "application/apply-patch+yaml") {
        auto config = api::ParseYaml(req.body);
        if (!config.ok() || !config->is_object()) {
          throw BadRequest("the apply configuration is not a YAML or JSON object");
        }
        // An apply that creates is a create through this version.
        const bool creating = !store_->Get(stored.StorageKey(), t.ns, t.name);
        SetJsonBody(r, to_stored(std::move(*config), creating), "application/apply-patch+yaml");
      } else {
        return PatchConverted(t, inner, r, res);
      }
    }
    Dispatch(inner, r, res);
  } catch (const ApiError& e) {
    throw Renamed(e, served, stored);
  }
  ConvertAnswer(served, stored, res);
}

// A patch to the served shape: applied to the current object as served, then written as
// an update of the stored object at the resourceVersion it was read at. Another writer in
// between makes the update conflict; a patch that named no resourceVersion is then
// applied again to the newer object, as kube-apiserver retries its patches.
void ApiServer::Impl::PatchConverted(const Target& t, const Target& inner, http::Request& r,
                                     http::Response& res) {
  const ResourceDef& served = *t.def;
  const ParsedPatch patch = ParsePatch(served, r);
  r.method = "PUT";
  for (int attempt = 1;; ++attempt) {
    ObjectPtr cur = store_->Get(inner.def->StorageKey(), t.ns, t.name);
    if (!cur) throw Renamed(NotFound(*inner.def, t.name), served, *inner.def);
    const json current = served.conversion->to_served(*cur);
    json next = PatchObject(served, current, patch);
    DropUnknownFields(next, served.conversion->served_fields, &r, &res);
    const bool pinned = patch.type == ParsedPatch::kJson
                            ? patch.patch.dump().find("/metadata/resourceVersion") != std::string::npos
                            : Meta(patch.patch).contains("resourceVersion");
    SetJsonBody(r, served.conversion->to_stored(next));
    try {
      Dispatch(inner, r, res);
      break;
    } catch (const ApiError& e) {
      if (e.code == 409 && !pinned && attempt < 5) continue;
      throw Renamed(e, served, *inner.def);
    }
  }
  ConvertAnswer(served, *inner.def, res);
}

}  // namespace cstor::apiserver
