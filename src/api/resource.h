// ResourceType: where a kind lives in the Kubernetes REST API. Typed objects carry one as
// `kType`, so the client can build paths without a discovery round trip.
#pragma once

#include <string>
#include <string_view>

namespace cstor::api {

struct ResourceType {
  std::string_view group;     // "" for the core group
  std::string_view version;   // "v1"
  std::string_view kind;      // "CStorVolumeReplica"
  std::string_view resource;  // the plural: "cstorvolumereplicas"
  bool namespaced = true;

  // "cstor.openebs.io/v1", or "v1" for the core group.
  std::string ApiVersion() const {
    return group.empty() ? std::string(version) : std::string(group) + "/" + std::string(version);
  }
};

// The cStor group, and the namespace OpenEBS installs into by default.
inline constexpr std::string_view kCStorGroup = "cstor.openebs.io";
inline constexpr std::string_view kOpenEBSNamespace = "openebs";

}  // namespace cstor::api
