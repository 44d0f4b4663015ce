// The resources the API server serves: the built-in Kubernetes kinds cstor touches, plus
// every custom resource registered by a CustomResourceDefinition at run time.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apiserver/strategy.h"
#include "base/result.h"

namespace cstor::apiserver {

struct ResourceDef {
  std::string group;     // "" for the core group
  std::string version;   // the served version
  std::string kind;
  std::string list_kind;
  std::string plural;    // the REST resource name
  std::string singular;
  std::vector<std::string> short_names;
  bool namespaced = true;
  bool status_subresource = false;
  bool log_subresource = false;  // pods/log: container logs the node runtime writes
  bool custom = false;   // defined by a CRD: validated against `schema`, status reset on create
  nlohmann::json schema;           // openAPIV3Schema, null for built-ins
  nlohmann::json printer_columns;  // additionalPrinterColumns, an array (may be empty)
  // Field selector paths served beyond metadata.name and metadata.namespace (which every
  // kind has): per built-in kind as Kubernetes serves them; a CRD's selectableFields.
  std::vector<std::string> selectable_fields;
  // Defaults, validation and table columns; never null.
  std::shared_ptr<const Strategy> strategy = std::make_shared<const Strategy>();

  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
  // "cstorvolumereplicas.cstor.openebs.io", "pods": the name errors and CRDs use.
  std::string QualifiedName() const { return group.empty() ? plural : plural + "." + group; }
  // The key prefix under which objects of this resource are stored.
  std::string StorageKey() const { return group + "/" + plural; }
};

using ResourceDefPtr = std::shared_ptr<const ResourceDef>;

// Thread-compatible: the server guards it with its own lock.
class Registry {
 public:
  Registry();  // the built-in kinds

  ResourceDefPtr Find(const std::string& group, const std::string& version,
                      const std::string& plural) const;
  ResourceDefPtr FindByStorageKey(const std::string& key) const;
  std::vector<ResourceDefPtr> All() const;

  // The resource a CustomResourceDefinition object defines (its storage version), or why
  // the definition cannot be served.
  static Result<ResourceDef> FromCrd(const nlohmann::json& crd);
  // Serves (or re-serves, after an update) the resource of a CRD; fails when its names
  // clash with another resource.
  Status AddCustom(ResourceDef def);
  void RemoveCustom(const std::string& group, const std::string& plural);

 private:
  std::map<std::string, ResourceDefPtr> by_key_;  // StorageKey() -> definition
};

}  // namespace cstor::apiserver
