// The Kubernetes kinds cstor reads and writes, modeled only as deep as we use them; the
// rest passes through `raw` untouched (see json_fields.h). C++ names are the JSON names in
// snake_case; kube_types.cc holds the exact JSON keys.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/meta.h"
#include "api/resource.h"

namespace cstor::api {

// ---- Namespace

struct NamespaceStatus {
  std::string phase;  // "Active" or "Terminating"
  nlohmann::json raw;
};

struct Namespace {
  static constexpr ResourceType kType{"", "v1", "Namespace", "namespaces", false};
  ObjectMeta metadata;
  NamespaceStatus status;
  nlohmann::json raw;
};

// ---- Node (its labels, e.g. kubernetes.io/hostname, are in metadata)

struct NodeAddress {
  std::string type;  // "InternalIP", "Hostname", ...
  std::string address;
  nlohmann::json raw;
};

struct NodeStatus {
  std::vector<NodeAddress> addresses;
  std::vector<Condition> conditions;
  nlohmann::json raw;
};

struct Node {
  static constexpr ResourceType kType{"", "v1", "Node", "nodes", false};
  ObjectMeta metadata;
  NodeStatus status;
  nlohmann::json raw;
};

// ---- Service

struct ServicePort {
  std::string name;
  int32_t port = 0;
  nlohmann::json target_port;  // int or string (a named port)
  std::string protocol;
  nlohmann::json raw;
};

struct ServiceSpec {
  std::string type;        // "ClusterIP", ...
  std::string cluster_ip;  // JSON "clusterIP"
  std::vector<ServicePort> ports;
  std::map<std::string, std::string> selector;
  nlohmann::json raw;
};

struct Service {
  static constexpr ResourceType kType{"", "v1", "Service", "services", true};
  ObjectMeta metadata;
  ServiceSpec spec;
  nlohmann::json raw;
};

// ---- Deployment (apps/v1)

struct LabelSelector {
  std::map<std::string, std::string> match_labels;
  nlohmann::json raw;
};

struct DeploymentStrategy {
  std::string type;  // "Recreate" or "RollingUpdate"
  nlohmann::json raw;
};

struct DeploymentSpec {
  std::optional<int32_t> replicas;  // absent means 1
  LabelSelector selector;
  DeploymentStrategy strategy;
  nlohmann::json template_;  // the pod template, passed through
  nlohmann::json raw;
};

struct DeploymentStatus {
  int32_t replicas = 0;
  int32_t ready_replicas = 0;
  int32_t available_replicas = 0;
  nlohmann::json raw;
};

struct Deployment {
  static constexpr ResourceType kType{"apps", "v1", "Deployment", "deployments", true};
  ObjectMeta metadata;
  DeploymentSpec spec;
  DeploymentStatus status;
  nlohmann::json raw;
};

// ---- Event (core/v1)

struct EventSource {
  std::string component;
  std::string host;
  nlohmann::json raw;
};

struct Event {
  static constexpr ResourceType kType{"", "v1", "Event", "events", true};
  ObjectMeta metadata;
  ObjectReference involved_object;
  std::string reason;
  std::string message;
  std::string type;  // "Normal" or "Warning"
  int32_t count = 0;
  std::string first_timestamp;
  std::string last_timestamp;
  EventSource source;
  std::string reporting_component;
  std::string reporting_instance;
  nlohmann::json raw;
};

// ---- Lease (coordination.k8s.io/v1), for leader election

struct LeaseSpec {
  std::string holder_identity;
  int32_t lease_duration_seconds = 0;
  std::string acquire_time;  // RFC 3339 with microseconds
  std::string renew_time;
  int32_t lease_transitions = 0;
  nlohmann::json raw;
};

struct Lease {
  static constexpr ResourceType kType{"coordination.k8s.io", "v1", "Lease", "leases", true};
  ObjectMeta metadata;
  LeaseSpec spec;
  nlohmann::json raw;
};

// ---- PersistentVolume

struct CSIVolumeSource {
  std::string driver;
  std::string volume_handle;
  std::string fs_type;
  std::map<std::string, std::string> volume_attributes;
  nlohmann::json raw;
};

struct PersistentVolumeSpec {
  ResourceList capacity;
  CSIVolumeSource csi;
  std::vector<std::string> access_modes;
  std::string persistent_volume_reclaim_policy;
  std::string storage_class_name;
  nlohmann::json claim_ref;
  nlohmann::json raw;
};

struct PersistentVolumeStatus {
  std::string phase;
  nlohmann::json raw;
};

struct PersistentVolume {
  static constexpr ResourceType kType{"", "v1", "PersistentVolume", "persistentvolumes", false};
  ObjectMeta metadata;
  PersistentVolumeSpec spec;
  PersistentVolumeStatus status;
  nlohmann::json raw;
};

// ---- PersistentVolumeClaim

struct VolumeResourceRequirements {
  ResourceList requests;
  nlohmann::json raw;
};

struct PersistentVolumeClaimSpec {
  std::vector<std::string> access_modes;
  VolumeResourceRequirements resources;
  // Absent means the default class; "" means no class. The difference matters.
  std::optional<std::string> storage_class_name;
  std::string volume_name;
  std::string volume_mode;  // "Filesystem" or "Block"
  nlohmann::json raw;
};

struct PersistentVolumeClaimStatus {
  std::string phase;
  ResourceList capacity;
  nlohmann::json raw;
};

struct PersistentVolumeClaim {
  static constexpr ResourceType kType{"", "v1", "PersistentVolumeClaim",
                                      "persistentvolumeclaims", true};
  ObjectMeta metadata;
  PersistentVolumeClaimSpec spec;
  PersistentVolumeClaimStatus status;
  nlohmann::json raw;
};

// ---- StorageClass (storage.k8s.io/v1)

struct StorageClass {
  static constexpr ResourceType kType{"storage.k8s.io", "v1", "StorageClass", "storageclasses",
                                      false};
  ObjectMeta metadata;
  std::string provisioner;
  std::map<std::string, std::string> parameters;
  std::string reclaim_policy;
  std::string volume_binding_mode;
  std::optional<bool> allow_volume_expansion;
  nlohmann::json raw;
};

// ---- CustomResourceDefinition (apiextensions.k8s.io/v1)

struct CRDNames {
  std::string kind;
  std::string list_kind;
  std::string plural;
  std::string singular;
  std::vector<std::string> short_names;
  nlohmann::json raw;
};

struct CRDVersion {
  std::string name;
  bool served = false;   // always written: the API server requires it
  bool storage = false;  // likewise
  nlohmann::json schema;
  nlohmann::json subresources;
  nlohmann::json additional_printer_columns;
  nlohmann::json raw;
};

struct CustomResourceDefinitionSpec {
  std::string group;
  CRDNames names;
  std::string scope;  // "Namespaced" or "Cluster"
  std::vector<CRDVersion> versions;
  nlohmann::json raw;
};

struct CustomResourceDefinitionStatus {
  std::vector<Condition> conditions;  // "Established", "NamesAccepted"
  CRDNames accepted_names;
  nlohmann::json raw;
};

struct CustomResourceDefinition {
  static constexpr ResourceType kType{"apiextensions.k8s.io", "v1", "CustomResourceDefinition",
                                      "customresourcedefinitions", false};
  ObjectMeta metadata;
  CustomResourceDefinitionSpec spec;
  CustomResourceDefinitionStatus status;
  nlohmann::json raw;
};

// ---- JSON conversions (found by nlohmann::json through ADL) ------------------------------

CSTOR_API_JSON_DECLARE(NamespaceStatus);
CSTOR_API_JSON_DECLARE(Namespace);
CSTOR_API_JSON_DECLARE(NodeAddress);
CSTOR_API_JSON_DECLARE(NodeStatus);
CSTOR_API_JSON_DECLARE(Node);
CSTOR_API_JSON_DECLARE(ServicePort);
CSTOR_API_JSON_DECLARE(ServiceSpec);
CSTOR_API_JSON_DECLARE(Service);
CSTOR_API_JSON_DECLARE(LabelSelector);
CSTOR_API_JSON_DECLARE(DeploymentStrategy);
CSTOR_API_JSON_DECLARE(DeploymentSpec);
CSTOR_API_JSON_DECLARE(DeploymentStatus);
CSTOR_API_JSON_DECLARE(Deployment);
CSTOR_API_JSON_DECLARE(EventSource);
CSTOR_API_JSON_DECLARE(Event);
CSTOR_API_JSON_DECLARE(LeaseSpec);
CSTOR_API_JSON_DECLARE(Lease);
CSTOR_API_JSON_DECLARE(CSIVolumeSource);
CSTOR_API_JSON_DECLARE(PersistentVolumeSpec);
CSTOR_API_JSON_DECLARE(PersistentVolumeStatus);
CSTOR_API_JSON_DECLARE(PersistentVolume);
CSTOR_API_JSON_DECLARE(VolumeResourceRequirements);
CSTOR_API_JSON_DECLARE(PersistentVolumeClaimSpec);
CSTOR_API_JSON_DECLARE(PersistentVolumeClaimStatus);
CSTOR_API_JSON_DECLARE(PersistentVolumeClaim);
CSTOR_API_JSON_DECLARE(StorageClass);
CSTOR_API_JSON_DECLARE(CRDNames);
CSTOR_API_JSON_DECLARE(CRDVersion);
CSTOR_API_JSON_DECLARE(CustomResourceDefinitionSpec);
CSTOR_API_JSON_DECLARE(CustomResourceDefinitionStatus);
CSTOR_API_JSON_DECLARE(CustomResourceDefinition);

}  // namespace cstor::api
