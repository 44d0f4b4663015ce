// JSON keys of the Kubernetes kinds: one line per field, read and written by the same list.
#include "api/kube_types.h"

namespace cstor::api {

// ---- Namespace

template <>
struct JsonFields<NamespaceStatus> {
  static void Visit(auto& x, auto&& f) { f("phase", x.phase); }
};

template <>
struct JsonFields<Namespace> {
  static void Visit(auto& x, auto&& f) {
    f("metadata", x.metadata);
    f("status", x.status);
  }
};

// ---- Node

template <>
struct JsonFields<NodeAddress> {
  static void Visit(auto& x, auto&& f) {
    f("type", x.type);
    f("address", x.address);
  }
};

template <>
struct JsonFields<NodeStatus> {
  static void Visit(auto& x, auto&& f) {
    f("addresses", x.addresses);
    f("conditions", x.conditions);
  }
};

template <>
struct JsonFields<Node> {
  static void Visit(auto& x, auto&& f) {
    f("metadata", x.metadata);
    f("status", x.status);
  }
};

// ---- Service

template <>
struct JsonFields<ServicePort> {
  static void Visit(auto& x, auto&& f) {
    f("name", x.name);
    f("port", x.port);
    f("targetPort", x.target_port);
    f("protocol", x.protocol);
  }
};

template <>
struct JsonFields<ServiceSpec> {
  static void Visit(auto& x, auto&& f) {
    f("type", x.type);
    f("clusterIP", x.cluster_ip);
    f("ports", x.ports);
    f("selector", x.selector);
  }
};

template <>
struct JsonFields<Service> {
  static void Visit(auto& x, auto&& f) {
    f("metadata", x.metadata);
    f("spec", x.spec);
  }
};

// ---- Deployment

template <>
struct JsonFields<LabelSelector> {
  static void Visit(auto& x, auto&& f) { f("matchLabels", x.match_labels); }
};

template <>
struct JsonFields<DeploymentStrategy> {
  static void Visit(auto& x, auto&& f) { f("type", x.type); }
};

template <>
struct JsonFields<DeploymentSpec> {
  static void Visit(auto& x, auto&& f) {
    f("replicas", x.replicas);
    f("selector", x.selector);
    f("strategy", x.strategy);
    f("template", x.template_);
  }
};

template <>
struct JsonFields<DeploymentStatus> {
  static void Visit(auto& x, auto&& f) {
    f("replicas", x.replicas);
    f("readyReplicas", x.ready_replicas);
    f("availableReplicas", x.available_replicas);
  }
};

template <>
struct JsonFields<Deployment> {
  static void Visit(auto& x, auto&& f) {
    f("metadata", x.metadata);
    f("spec", x.spec);
    f("status", x.status);
  }
};

// ---- Event

template <>
struct JsonFields<EventSource> {
  static void Visit(auto& x, auto&& f) {
    f("component", x.component);
    f("host", x.host);
  }
};

template <>
struct JsonFields<Event> {
  static void Visit(auto& x, auto&& f) {
    f("metadata", x.metadata);
    f("involvedObject", x.involved_object);
    f("reason", x.reason);
    f("message", x.message);
    f("type", x.type);
    f("count", x.count);
    f("firstTimestamp", x.first_timestamp);
    f("lastTimestamp", x.last_timestamp);
    f("source", x.source);
    f("reportingComponent", x.reporting_component);
    f("reportingInstance", x.reporting_instance);
  }
};

// ---- Lease

template <>
struct JsonFields<LeaseSpec> {
  static void Visit(auto& x, auto&& f) {
    f("holderIdentity", x.holder_identity);
    f("leaseDurationSeconds", x.lease_duration_seconds);
    f("acquireTime", x.acquire_time);
    f("renewTime", x.renew_time);
    f("leaseTransitions", x.lease_transitions);
  }
};

template <>
struct JsonFields<Lease> {
  static void Visit(auto& x, auto&& f) {
    f("metadata", x.metadata);
    f("spec", x.spec);
  }
};

// ---- PersistentVolume

template <>
struct JsonFields<CSIVolumeSource> {
  static void Visit(auto& x, auto&& f) {
    f("driver", x.driver);
    f("volumeHandle", x.volume_handle);
    f("fsType", x.fs_type);
    f("volumeAttributes", x.volume_attributes);
  }
};

template <>
struct JsonFields<PersistentVolumeSpec> {
  static void Visit(auto& x, auto&& f) {
    f("capacity", x.capacity);
    f("csi", x.csi);
    f("accessModes", x.access_modes);
    f("persistentVolumeReclaimPolicy", x.persistent_volume_reclaim_policy);
    f("storageClassName", x.storage_class_name);
    f("claimRef", x.claim_ref);
  }
};

template <>
struct JsonFields<PersistentVolumeStatus> {
  static void Visit(auto& x, auto&& f) { f("phase", x.phase); }
};

template <>
struct JsonFields<PersistentVolume> {
  static void Visit(auto& x, auto&& f) {
    f("metadata", x.metadata);
    f("spec", x.spec);
    f("status", x.status);
  }
};

// ---- PersistentVolumeClaim

template <>
struct JsonFields<VolumeResourceRequirements> {
  static void Visit(auto& x, auto&& f) { f("requests", x.requests); }
};

template <>
struct JsonFields<PersistentVolumeClaimSpec> {
  static void Visit(auto& x, auto&& f) {
    f("accessModes", x.access_modes);
    f("resources", x.resources);
    f("storageClassName", x.storage_class_name);
    f("volumeName", x.volume_name);
    f("volumeMode", x.volume_mode);
  }
};

template <>
struct JsonFields<PersistentVolumeClaimStatus> {
  static void Visit(auto& x, auto&& f) {
    f("phase", x.phase);
    f("capacity", x.capacity);
  }
};

template <>
struct JsonFields<PersistentVolumeClaim> {
  static void Visit(auto& x, auto&& f) {
    f("metadata", x.metadata);
    f("spec", x.spec);
    f("status", x.status);
  }
};

// ---- StorageClass

template <>
struct JsonFields<StorageClass> {
  static void Visit(auto& x, auto&& f) {
    f("metadata", x.metadata);
    f("provisioner", x.provisioner);
    f("parameters", x.parameters);
    f("reclaimPolicy", x.reclaim_policy);
    f("volumeBindingMode", x.volume_binding_mode);
    f("allowVolumeExpansion", x.allow_volume_expansion);
  }
};

// ---- CustomResourceDefinition

template <>
struct JsonFields<CRDNames> {
  static void Visit(auto& x, auto&& f) {
    f("kind", x.kind);
    f("listKind", x.list_kind);
    f("plural", x.plural);
    f("singular", x.singular);
    f("shortNames", x.short_names);
  }
};

template <>
struct JsonFields<CRDVersion> {
  static void Visit(auto& x, auto&& f) {
    f("name", x.name);
    f("served", x.served, Presence::kAlways);
    f("storage", x.storage, Presence::kAlways);
    f("schema", x.schema);
    f("subresources", x.subresources);
    f("additionalPrinterColumns", x.additional_printer_columns);
  }
};

template <>
struct JsonFields<CustomResourceDefinitionSpec> {
  static void Visit(auto& x, auto&& f) {
    f("group", x.group);
    f("names", x.names);
    f("scope", x.scope);
    f("versions", x.versions);
  }
};

template <>
struct JsonFields<CustomResourceDefinitionStatus> {
  static void Visit(auto& x, auto&& f) {
    f("conditions", x.conditions);
    f("acceptedNames", x.accepted_names);
  }
};

template <>
struct JsonFields<CustomResourceDefinition> {
  static void Visit(auto& x, auto&& f) {
    f("metadata", x.metadata);
    f("spec", x.spec);
    f("status", x.status);
  }
};

CSTOR_API_JSON_DEFINE(NamespaceStatus)
CSTOR_API_JSON_DEFINE(Namespace)
CSTOR_API_JSON_DEFINE(NodeAddress)
CSTOR_API_JSON_DEFINE(NodeStatus)
CSTOR_API_JSON_DEFINE(Node)
CSTOR_API_JSON_DEFINE(ServicePort)
CSTOR_API_JSON_DEFINE(ServiceSpec)
CSTOR_API_JSON_DEFINE(Service)
CSTOR_API_JSON_DEFINE(LabelSelector)
CSTOR_API_JSON_DEFINE(DeploymentStrategy)
CSTOR_API_JSON_DEFINE(DeploymentSpec)
CSTOR_API_JSON_DEFINE(DeploymentStatus)
CSTOR_API_JSON_DEFINE(Deployment)
CSTOR_API_JSON_DEFINE(EventSource)
CSTOR_API_JSON_DEFINE(Event)
CSTOR_API_JSON_DEFINE(LeaseSpec)
CSTOR_API_JSON_DEFINE(Lease)
CSTOR_API_JSON_DEFINE(CSIVolumeSource)
CSTOR_API_JSON_DEFINE(PersistentVolumeSpec)
CSTOR_API_JSON_DEFINE(PersistentVolumeStatus)
CSTOR_API_JSON_DEFINE(PersistentVolume)
CSTOR_API_JSON_DEFINE(VolumeResourceRequirements)
CSTOR_API_JSON_DEFINE(PersistentVolumeClaimSpec)
CSTOR_API_JSON_DEFINE(PersistentVolumeClaimStatus)
CSTOR_API_JSON_DEFINE(PersistentVolumeClaim)
CSTOR_API_JSON_DEFINE(StorageClass)
CSTOR_API_JSON_DEFINE(CRDNames)
CSTOR_API_JSON_DEFINE(CRDVersion)
CSTOR_API_JSON_DEFINE(CustomResourceDefinitionSpec)
CSTOR_API_JSON_DEFINE(CustomResourceDefinitionStatus)
CSTOR_API_JSON_DEFINE(CustomResourceDefinition)

}  // namespace cstor::api
