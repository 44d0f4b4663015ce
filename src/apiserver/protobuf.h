// Kubernetes' protobuf encoding (application/vnd.kubernetes.protobuf), which kubectl 1.30
// and later send for `create namespace`, `create configmap`, `create secret`, `create
// deployment` and the like, and which no JSON fallback replaces: the client does not retry
// after a 415. The body is "k8s\0" and a runtime.Unknown whose raw bytes are the typed
// object; this decodes the kinds such commands create into the JSON the server handles.
// A field this decoder does not know is refused rather than dropped.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace cstor::apiserver {

inline constexpr std::string_view kProtobufContentType = "application/vnd.kubernetes.protobuf";

// The object as JSON (apiVersion and kind from the envelope), or InvalidArgument for a
// malformed body, FailedPrecondition for a kind or field not decoded. Only a create
// (`creating`) may carry status fields the decoder does not know: the server resets a new
// object's status; in an update they would be lost.
Result<nlohmann::json> DecodeKubernetesProtobuf(std::string_view body, bool creating);

}  // namespace cstor::apiserver
