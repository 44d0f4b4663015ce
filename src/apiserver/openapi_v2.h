// OpenAPI v2 (Swagger 2.0), which kubectl 1.20-1.28 read before `apply`, `create`,
// `edit` and `explain`: kubectl fetches it as protobuf (gnostic's openapi_v2.Document) and
// parses every definition, and a server without it fails those commands. The document
// has, per resource, a PATCH operation that names its group-version-kind and its query
// parameters (kubectl sees from fieldValidation that the server validates fields) and a
// definition: a CRD's schema in full; for a built-in kind an object without properties,
// since a partial one would make kubectl's client-side validation refuse every field it
// does not list.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apiserver/registry.h"

namespace cstor::apiserver {

// The Swagger 2.0 document, as JSON.
nlohmann::json OpenApiV2Document(const std::vector<ResourceDefPtr>& defs);
// The same document in gnostic's protobuf encoding (what Accept
// "application/com.github.proto-openapi.spec.v2@v1.0+protobuf" asks for).
std::string EncodeOpenApiV2(const nlohmann::json& document);

// The definition name kubectl and the v3 document use: "io.k8s.api.apps.v1.Deployment",
// "io.openebs.cstor.v1.CStorVolume".
std::string DefinitionName(const ResourceDef& def);

}  // namespace cstor::apiserver
