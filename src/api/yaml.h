// YAML documents as JSON values. Kubernetes manifests and kubeconfig files are YAML; the
// rest of cstor works on JSON, so YAML is converted at the edge with these functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace cstor::api {

// Every document in a YAML stream ("---" separated), as JSON. Plain scalars become
// booleans, nulls, integers or numbers where YAML 1.2's core schema says so; quoted
// scalars stay strings. Empty documents are skipped.
Result<std::vector<nlohmann::json>> ParseYamlDocuments(std::string_view text);

// The single document in `text`; an error when there is not exactly one.
Result<nlohmann::json> ParseYaml(std::string_view text);

// A JSON value written as block-style YAML (for kubeconfig files people read).
std::string ToYaml(const nlohmann::json& value);

}  // namespace cstor::api
