// Validation of custom resources against a CRD's structural OpenAPI v3 schema, the way
// Kubernetes does it: defaults applied, unknown fields pruned (or reported, when the
// client asks for strict field validation), and every violation reported with its path.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cstor::apiserver {

struct FieldError {
  std::string reason;  // "FieldValueRequired", "FieldValueInvalid", "FieldValueNotSupported", ...
  std::string field;   // "spec.pools[0].nodeSelector"
  std::string message; // "spec.pools[0].nodeSelector: Required value"
};

struct SchemaResult {
  std::vector<FieldError> errors;
  std::vector<std::string> unknown_fields;  // pruned paths, "spec.foo"
};

// Validates `object` against `schema` (an openAPIV3Schema), applying `default`s and
// pruning fields the schema does not know, in place. metadata, apiVersion and kind are
// the server's business and are left alone.
SchemaResult ValidateAndPrune(const nlohmann::json& schema, nlohmann::json& object);

}  // namespace cstor::apiserver
