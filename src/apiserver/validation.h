// Kubernetes' rules for object names, label keys and values, and object metadata.
#pragma once

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "apiserver/schema.h"
#include "base/status.h"

namespace cstor::apiserver {

// RFC 1123 subdomain: at most 253 characters of [a-z0-9.-], alphanumeric at both ends.
Status ValidateDnsSubdomain(std::string_view name);
// RFC 1123 label: at most 63 characters of [a-z0-9-], alphanumeric at both ends.
Status ValidateDnsLabel(std::string_view name);
// "prefix/name" where the prefix is a subdomain and the name at most 63 of [A-Za-z0-9-_.].
Status ValidateLabelKey(std::string_view key);
Status ValidateLabelValue(std::string_view value);

// The metadata every object must satisfy: a valid name (label-shaped for namespaces),
// valid labels and annotation keys, well-formed finalizers and owner references.
std::vector<FieldError> ValidateObjectMeta(const nlohmann::json& metadata, bool dns_label_name);

}  // namespace cstor::apiserver
