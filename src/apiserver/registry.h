// The resources the API server serves: the built-in Kubernetes kinds cstor touches, plus
// every custom resource registered by a CustomResourceDefinition at run time.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apiserver/strategy.h"
#include "base/result.h"

namespace cstor::apiserver {

// How a resource is served from the objects of another, in a shape of its own: a real
// server stores one copy and converts on the way in and out, as events.k8s.io/v1 Events
// are the core/v1 Events under other field names.
struct Conversion {
  std::string storage_key;  // the StorageKey() of the resource whose objects these are
  std::function<nlohmann::json(const nlohmann::json& stored)> to_served;
  std::function<nlohmann::json(const nlohmann::json& served)> to_stored;
  // Field selector paths as served -> as stored ("regarding.name" -> "involvedObject.name").
  std::map<std::string, std::string> field_labels;
  // The top-level fields of the served shape (others are unknown to a client of it).
  std::vector<std::string> served_fields;
  // What a create through this version must satisfy beyond the stored kind's rules.
  std::function<std::vector<FieldError>(const nlohmann::json& served)> validate_create;
};

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
  bool scale_subresource = false;  // <plural>/scale: spec.replicas as an autoscaling/v1 Scale
  // metadata.generation, counting changes to the spec: kept by the kinds whose spec is a
  // desired state a controller reports on (workloads, CRDs, every custom resource), not by
  // ConfigMaps, Secrets, Events, Services and the like, as on a real server.
  bool generation = false;
  bool custom = false;   // defined by a CRD: validated against `schema`, status reset on create
  nlohmann::json schema;           // openAPIV3Schema, null for built-ins
  nlohmann::json printer_columns;  // additionalPrinterColumns, an array (may be empty)
  // Field selector paths served beyond metadata.name and metadata.namespace (which every
  // kind has): per built-in kind as Kubernetes serves them; a CRD's selectableFields.
  std::vector<std::string> selectable_fields;
  // Defaults, validation and table columns; never null.
  std::shared_ptr<const Strategy> strategy = std::make_shared<const Strategy>();
  // Set for a resource served from another's objects (see Conversion). Its strategy's
  // columns read the stored shape; writes go through the stored resource.
  std::shared_ptr<const Conversion> conversion;

  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
  // "cstorvolumereplicas.cstor.openebs.io", "pods": the name errors and CRDs use.
  std::string QualifiedName() const { return group.empty() ? plural : plural + "." + group; }
  // The resource's own name, "group/plural": unique among those served.
  std::string Key() const { return group + "/" + plural; }
  // The key prefix under which objects of this resource are stored: its own, or for a
  // converted resource the one it is served from.
  std::string StorageKey() const { return conversion ? conversion->storage_key : Key(); }
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
