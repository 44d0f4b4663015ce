// The built-in Kubernetes kinds the API server serves, each with its strategy (defaults,
// validation, table columns) as kube-apiserver has them for the fields cstor, kubectl
// and the CSI sidecars read. Grouped as Kubernetes groups them:
//   core.cc       Namespace, Node, Service, Endpoints, Pod, Event, Secret, ConfigMap,
//                 ServiceAccount, PersistentVolume, PersistentVolumeClaim
//   workloads.cc  Deployment, DaemonSet, StatefulSet
//   storage.cc    StorageClass, CSIDriver, CSINode, VolumeAttachment
//   cluster.cc    Lease, the RBAC kinds, CustomResourceDefinition
//   events.cc     events.k8s.io/v1 Events, served from the core Events
#pragma once

#include <vector>

#include "apiserver/registry.h"

namespace cstor::apiserver::kinds {

std::vector<ResourceDef> Core();
std::vector<ResourceDef> Workloads();
std::vector<ResourceDef> Storage();
std::vector<ResourceDef> Cluster();
// events.k8s.io/v1 Events, converted from and to the stored core/v1 ones.
ResourceDef EventsV1(const ResourceDef& core_events);

}  // namespace cstor::apiserver::kinds
