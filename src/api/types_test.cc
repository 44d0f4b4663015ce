// Tests for the typed resources: exact JSON round trips with unmodeled fields, edits and
// clears through the typed fields, and the metadata helpers.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string_view>

#include "api/cstor_types.h"
#include "api/kube_types.h"
#include "api/meta.h"

namespace cstor::api {
namespace {

using nlohmann::json;

// Parses `text` as a T and checks that serializing it gives back exactly the input.
template <class T>
T ExpectRoundTrip(std::string_view text) {
  const json in = json::parse(text);
  T obj = in.get<T>();
  const json out = obj;
  EXPECT_EQ(out, in) << "diff: " << json::diff(in, out).dump();
  return obj;
}

// ---- The cStor kinds, as the API server returns them, with fields we do not model at the
// top level, in metadata, in spec and in a nested object.

constexpr std::string_view kCspc = R"({
  "apiVersion": "cstor.openebs.io/v1", "kind": "CStorPoolCluster",
  "metadata": {"name": "cspc-disk", "namespace": "openebs", "uid": "6b1d0c4e", "generation": 2,
    "resourceVersion": "1201", "creationTimestamp": "2023-10-01T10:00:00Z",
    "finalizers": ["cstorpoolcluster.openebs.io/finalizer"],
    "managedFields": [{"manager": "kubectl", "operation": "Update"}]},
  "spec": {
    "pools": [{
      "nodeSelector": {"kubernetes.io/hostname": "worker-1"},
      "dataRaidGroups": [{"blockDevices": [
        {"blockDeviceName": "blockdevice-0a1b", "capacity": 107374182400,
         "devLink": "/dev/disk/by-id/ata-1", "futureDeviceField": true},
        {"blockDeviceName": "blockdevice-0a1c"}]}],
      "poolConfig": {"dataRaidGroupType": "mirror", "compression": "lz4",
        "thickProvision": false, "roThresholdLimit": 80,
        "tolerations": [{"key": "storage", "operator": "Exists", "effect": "NoSchedule"}],
        "futureKnob": {"level": 3}}}],
    "resources": {"requests": {"memory": "2Gi", "cpu": "250m"}},
    "auxResources": {"limits": {"memory": "1Gi"}},
    "priorityClassName": "system-cluster-critical",
    "futureSpecField": "x"},
  "status": {"provisionedInstances": 1, "desiredInstances": 1, "healthyInstances": 1,
    "conditions": [{"type": "PoolManagerAvailable", "status": "True",
      "lastUpdateTime": "2023-10-01T10:01:00Z", "lastTransitionTime": "2023-10-01T10:01:00Z",
      "reason": "MinimumReplicasAvailable", "message": "Pool manager(s) have minimum available pod"}]},
  "versionDetails": {"autoUpgrade": false, "desired": "3.5.0",
    "status": {"current": "3.5.0", "dependentsUpgraded": true, "lastUpdateTime": null, "state": ""}}
})";

constexpr std::string_view kCspi = R"({
  "apiVersion": "cstor.openebs.io/v1", "kind": "CStorPoolInstance",
  "metadata": {"name": "cspc-disk-x7kq", "namespace": "openebs", "uid": "aa11", "generation": 1,
    "labels": {"kubernetes.io/hostname": "worker-1", "openebs.io/cas-type": "cstor",
      "openebs.io/cstor-pool-cluster": "cspc-disk", "openebs.io/version": "3.5.0"},
    "finalizers": ["cstorpoolcluster.openebs.io/finalizer", "openebs.io/pool-protection"],
    "ownerReferences": [{"apiVersion": "cstor.openebs.io/v1", "kind": "CStorPoolCluster",
      "name": "cspc-disk", "uid": "6b1d0c4e", "controller": true, "blockOwnerDeletion": true}],
    "selfLink": "/legacy"},
  "spec": {"hostName": "worker-1", "nodeSelector": {"kubernetes.io/hostname": "worker-1"},
    "poolConfig": {"dataRaidGroupType": "stripe", "writeCacheGroupType": "", "priorityClassName": "",
      "roThresholdLimit": 85, "nextGenCache": "on"},
    "dataRaidGroups": [{"blockDevices": [{"blockDeviceName": "blockdevice-0a1b",
      "capacity": 107374182400, "devLink": "/dev/sdb"}]}],
    "writeCacheRaidGroups": [], "futureSpecField": 1},
  "status": {"phase": "ONLINE", "readOnly": false, "provisionedReplicas": 2, "healthyReplicas": 2,
    "capacity": {"used": "1.2Gi", "free": "96.3Gi", "total": "97.5Gi",
      "zfs": {"logicalUsed": "900Mi", "compressRatio": "1.33"}},
    "conditions": [{"type": "PoolExpansion", "status": "False", "reason": "PoolExpansionSuccessful",
      "message": "", "lastTransitionTime": "2023-10-01T10:02:00Z", "lastUpdateTime": null}]},
  "versionDetails": {"desired": "3.5.0"}
})";

constexpr std::string_view kCvc = R"({
  "apiVersion": "cstor.openebs.io/v1", "kind": "CStorVolumeConfig",
  "metadata": {"name": "pvc-9f1e", "namespace": "openebs", "uid": "c0c0", "resourceVersion": "77",
    "labels": {"openebs.io/cstor-pool-cluster": "cspc-disk"},
    "annotations": {"openebs.io/volumeID": "pvc-9f1e", "openebs.io/volume-policy": "",
      "openebs.io/persistent-volume-claim": "data-0"},
    "finalizers": ["cvc.openebs.io/finalizer"], "managedFields": []},
  "spec": {"capacity": {"storage": "10Gi"},
    "cstorVolumeRef": {"apiVersion": "cstor.openebs.io/v1", "kind": "CStorVolume",
      "name": "pvc-9f1e", "namespace": "openebs", "uid": "cv01", "resourceVersion": "80"},
    "provision": {"capacity": {"storage": "10Gi"}, "replicaCount": 3},
    "policy": {"provision": {"replicaAffinity": true, "blockSize": 4096},
      "target": {"queueDepth": "32", "luWorkers": 6, "monitor": true,
        "nodeSelector": {"zone": "a"}, "priorityClassName": "p",
        "affinity": {"requiredDuringSchedulingIgnoredDuringExecution": []}, "tuning": "fast"},
      "replica": {"zvolWorkers": "4", "compression": "lz4"},
      "replicaPoolInfo": [{"poolName": "cspc-disk-x7kq"}, {"poolName": "cspc-disk-m2pd"}]},
    "futureSpecField": {}},
  "publish": {"nodeId": "worker-2"},
  "status": {"phase": "Bound", "poolInfo": ["cspc-disk-x7kq", "cspc-disk-m2pd"],
    "capacity": {"storage": "10Gi"},
    "condition": [{"type": "Resizing", "status": "True", "reason": "", "message": "growing",
      "lastProbeTime": "2023-10-02T00:00:00Z", "lastTransitionTime": "2023-10-02T00:00:00Z"}]},
  "versionDetails": {"autoUpgrade": false}
})";

constexpr std::string_view kCv = R"({
  "apiVersion": "cstor.openebs.io/v1", "kind": "CStorVolume",
  "metadata": {"name": "pvc-9f1e", "namespace": "openebs", "uid": "cv01",
    "labels": {"openebs.io/persistent-volume": "pvc-9f1e"}, "deletionGracePeriodSeconds": 0},
  "spec": {"capacity": "10Gi", "targetIP": "10.96.12.7", "targetPort": "3260",
    "iqn": "iqn.2016-09.com.openebs.cstor:pvc-9f1e", "targetPortal": "10.96.12.7:3260",
    "replicationFactor": 3, "consistencyFactor": 2, "desiredReplicationFactor": 3,
    "replicaDetails": {"knownReplicas": {"6061": "11893203813591822330", "6062": "8274"},
      "epoch": 7},
    "luWorkers": 6},
  "status": {"phase": "Healthy", "capacity": "10Gi", "message": "",
    "lastTransitionTime": "2023-10-01T10:05:00Z", "lastUpdateTime": "2023-10-01T10:06:00Z",
    "replicaStatuses": [{"replicaId": "6061", "mode": "Healthy", "checkpointedIOSeq": "1024",
      "inflightRead": "0", "inflightWrite": "1", "inflightSync": "0", "upTime": 3600,
      "quorum": "1", "lagBlocks": 0}],
    "replicaDetails": {"knownReplicas": {"6061": "11893203813591822330"}}, "conditions": []}
})";

constexpr std::string_view kCvr = R"({
  "apiVersion": "cstor.openebs.io/v1", "kind": "CStorVolumeReplica",
  "metadata": {"name": "pvc-9f1e-cspc-disk-x7kq", "namespace": "openebs", "uid": "r01",
    "labels": {"cstorpoolinstance.openebs.io/name": "cspc-disk-x7kq",
      "cstorpoolinstance.openebs.io/uid": "aa11", "cstorvolume.openebs.io/name": "pvc-9f1e",
      "openebs.io/persistent-volume": "pvc-9f1e"},
    "finalizers": ["cstorvolumereplica.openebs.io/finalizer"],
    "deletionTimestamp": "2023-10-03T00:00:00Z", "managedFields": [{"manager": "pool-manager"}]},
  "spec": {"targetIP": "10.96.12.7", "capacity": "10Gi", "zvolWorkers": "1",
    "replicaid": "11893203813591822330", "compression": "lz4", "blockSize": 4096,
    "futureSpecField": [1, 2]},
  "status": {"phase": "Healthy", "capacity": {"total": "10Gi", "used": "1Gi", "logical": "2Gi"},
    "lastTransitionTime": "2023-10-01T10:05:00Z", "lastUpdateTime": "2023-10-01T10:06:00Z",
    "snapshots": {"snap1": {"logicalReferenced": 1048576, "createdAt": "2023-10-01"}},
    "pendingSnapshots": {"snap2": {"logicalReferenced": 0}}}
})";

constexpr std::string_view kCvp = R"({
  "apiVersion": "cstor.openebs.io/v1", "kind": "CStorVolumePolicy",
  "metadata": {"name": "fast-policy", "namespace": "openebs", "annotations": {"note": "x"}},
  "spec": {"provision": {"replicaAffinity": false, "blockSize": 8192},
    "target": {"replicationFactor": 3, "resources": {"requests": {"cpu": "100m"}},
      "auxResources": {"requests": {"cpu": "50m"}},
      "tolerations": [{"key": "k", "operator": "Equal", "value": "v"}], "newTargetKnob": 1},
    "replica": {"zvolWorkers": "2", "compression": "off"},
    "replicaPoolInfo": [{"poolName": "cspc-disk-x7kq", "weight": 2}],
    "futureSpecField": null},
  "status": {"phase": "Ready"}
})";

constexpr std::string_view kCva = R"({
  "apiVersion": "cstor.openebs.io/v1", "kind": "CStorVolumeAttachment",
  "metadata": {"name": "pvc-9f1e-worker-2", "namespace": "openebs",
    "labels": {"Volname": "pvc-9f1e", "nodeID": "worker-2"}, "generation": 1,
    "ownerReferences": [{"apiVersion": "cstor.openebs.io/v1", "kind": "CStorVolume",
      "name": "pvc-9f1e", "uid": "cv01"}]},
  "spec": {"volume": {"name": "pvc-9f1e", "capacity": "10Gi", "ownerNodeID": "worker-2",
      "fsType": "ext4", "accessModes": ["ReadWriteOnce"], "accessType": "mount",
      "stagingTargetPath": "/var/lib/kubelet/plugins/staging", "targetPath": "/var/lib/kubelet/pods/x",
      "readOnly": false, "mountOptions": ["noatime"], "devicePath": "/dev/sdc",
      "volumeContext": {"k": "v"}},
    "iscsi": {"iqn": "iqn.2016-09.com.openebs.cstor:pvc-9f1e", "targetPortal": "10.96.12.7:3260",
      "iscsiInterface": "default", "lun": "0"},
    "futureSpecField": true},
  "status": "Mounted"
})";

TEST(CStorTypesTest, PoolClusterRoundTrip) {
  auto cspc = ExpectRoundTrip<CStorPoolCluster>(kCspc);
  EXPECT_EQ(cspc.metadata.name, "cspc-disk");
  EXPECT_EQ(cspc.metadata.generation, 2);
  ASSERT_EQ(cspc.spec.pools.size(), 1u);
  const PoolSpec& pool = cspc.spec.pools[0];
  EXPECT_EQ(pool.node_selector.at(std::string(kLabelHostName)), "worker-1");
  ASSERT_EQ(pool.data_raid_groups.at(0).block_devices.size(), 2u);
  EXPECT_EQ(pool.data_raid_groups[0].block_devices[0].capacity, 107374182400u);
  EXPECT_EQ(pool.data_raid_groups[0].block_devices[0].dev_link, "/dev/disk/by-id/ata-1");
  EXPECT_EQ(pool.pool_config.data_raid_group_type, raid_type::kMirror);
  EXPECT_EQ(pool.pool_config.ro_threshold_limit, 80);
  EXPECT_EQ(pool.pool_config.tolerations.at(0)["key"], "storage");
  EXPECT_EQ(cspc.spec.resources["requests"]["memory"], "2Gi");
  EXPECT_EQ(cspc.spec.priority_class_name, "system-cluster-critical");
  EXPECT_EQ(cspc.status.healthy_instances, 1);
  EXPECT_EQ(cspc.status.conditions.at(0).type, cspc_condition::kPoolManagerAvailable);
}

TEST(CStorTypesTest, PoolInstanceRoundTrip) {
  auto cspi = ExpectRoundTrip<CStorPoolInstance>(kCspi);
  EXPECT_EQ(cspi.metadata.labels.at(std::string(kLabelCasType)), kCasTypeCStor);
  EXPECT_TRUE(HasFinalizer(cspi.metadata, kFinalizerPoolProtection));
  ASSERT_NE(ControllerOf(cspi.metadata), nullptr);
  EXPECT_EQ(ControllerOf(cspi.metadata)->kind, "CStorPoolCluster");
  EXPECT_EQ(cspi.spec.host_name, "worker-1");
  EXPECT_EQ(cspi.spec.pool_config.data_raid_group_type, raid_type::kStripe);
  EXPECT_EQ(cspi.status.phase, cspi_phase::kOnline);
  EXPECT_EQ(cspi.status.provisioned_replicas, 2);
  EXPECT_EQ(cspi.status.capacity.free, "96.3Gi");
  EXPECT_EQ(cspi.status.capacity.zfs.logical_used, "900Mi");
  EXPECT_EQ(cspi.status.conditions.at(0).reason, "PoolExpansionSuccessful");
}

TEST(CStorTypesTest, VolumeConfigRoundTrip) {
  auto cvc = ExpectRoundTrip<CStorVolumeConfig>(kCvc);
  EXPECT_EQ(cvc.metadata.annotations.at(std::string(kAnnotationPersistentVolumeClaim)), "data-0");
  EXPECT_EQ(cvc.spec.capacity.at(std::string(kResourceStorage)), "10Gi");
  EXPECT_EQ(cvc.spec.cstor_volume_ref.kind, "CStorVolume");
  EXPECT_EQ(cvc.spec.cstor_volume_ref.namespace_, "openebs");
  EXPECT_EQ(cvc.spec.provision.replica_count, 3);
  EXPECT_TRUE(cvc.spec.policy.provision.replica_affinity);
  EXPECT_EQ(cvc.spec.policy.provision.block_size, 4096u);
  EXPECT_EQ(cvc.spec.policy.target.queue_depth, "32");
  EXPECT_EQ(cvc.spec.policy.target.lu_workers, 6);
  EXPECT_TRUE(cvc.spec.policy.target.monitor);
  EXPECT_EQ(cvc.spec.policy.replica.zvol_workers, "4");
  ASSERT_EQ(cvc.spec.policy.replica_pool_info.size(), 2u);
  EXPECT_EQ(cvc.spec.policy.replica_pool_info[1].pool_name, "cspc-disk-m2pd");
  EXPECT_EQ(cvc.publish.node_id, "worker-2");
  EXPECT_EQ(cvc.status.phase, cvc_phase::kBound);
  EXPECT_EQ(cvc.status.pool_info.size(), 2u);
  ASSERT_NE(FindCondition(cvc.status.conditions, cvc_condition::kResizing), nullptr);
  EXPECT_EQ(FindCondition(cvc.status.conditions, cvc_condition::kResizing)->last_probe_time,
            "2023-10-02T00:00:00Z");
}

TEST(CStorTypesTest, VolumeRoundTrip) {
  auto cv = ExpectRoundTrip<CStorVolume>(kCv);
  EXPECT_EQ(cv.spec.target_ip, "10.96.12.7");
  EXPECT_EQ(cv.spec.target_port, "3260");
  EXPECT_EQ(cv.spec.iqn, "iqn.2016-09.com.openebs.cstor:pvc-9f1e");
  EXPECT_EQ(cv.spec.target_portal, "10.96.12.7:3260");
  EXPECT_EQ(cv.spec.replication_factor, 3);
  EXPECT_EQ(cv.spec.consistency_factor, 2);
  EXPECT_EQ(cv.spec.desired_replication_factor, 3);
  EXPECT_EQ(cv.spec.replica_details.known_replicas.at("6062"), "8274");
  EXPECT_EQ(cv.status.phase, cv_phase::kHealthy);
  ASSERT_EQ(cv.status.replica_statuses.size(), 1u);
  const ReplicaStatus& r = cv.status.replica_statuses[0];
  EXPECT_EQ(r.replica_id, "6061");
  EXPECT_EQ(r.checkpointed_io_seq, "1024");
  EXPECT_EQ(r.inflight_write, "1");
  EXPECT_EQ(r.up_time, 3600);
  EXPECT_EQ(r.quorum, "1");
  EXPECT_EQ(cv.status.last_update_time, "2023-10-01T10:06:00Z");
  EXPECT_EQ(cv.status.replica_details.known_replicas.size(), 1u);
}

TEST(CStorTypesTest, VolumeReplicaRoundTrip) {
  auto cvr = ExpectRoundTrip<CStorVolumeReplica>(kCvr);
  EXPECT_EQ(cvr.metadata.labels.at(std::string(kLabelPoolInstanceUID)), "aa11");
  EXPECT_EQ(cvr.metadata.deletion_timestamp, "2023-10-03T00:00:00Z");
  EXPECT_EQ(cvr.spec.replica_id, "11893203813591822330");
  EXPECT_EQ(cvr.spec.zvol_workers, "1");
  EXPECT_EQ(cvr.spec.block_size, 4096u);
  EXPECT_EQ(cvr.status.phase, cvr_phase::kHealthy);
  EXPECT_EQ(cvr.status.capacity.used, "1Gi");
  EXPECT_EQ(cvr.status.snapshots.at("snap1").logical_referenced, 1048576u);
  EXPECT_EQ(cvr.status.pending_snapshots.count("snap2"), 1u);
}

TEST(CStorTypesTest, VolumePolicyRoundTrip) {
  auto cvp = ExpectRoundTrip<CStorVolumePolicy>(kCvp);
  EXPECT_EQ(cvp.spec.provision.block_size, 8192u);
  EXPECT_EQ(cvp.spec.target.replication_factor, 3);
  EXPECT_EQ(cvp.spec.target.aux_resources["requests"]["cpu"], "50m");
  EXPECT_EQ(cvp.spec.replica.compression, "off");
  EXPECT_EQ(cvp.spec.replica_pool_info.at(0).pool_name, "cspc-disk-x7kq");
  EXPECT_EQ(cvp.status.phase, "Ready");
}

TEST(CStorTypesTest, VolumeAttachmentRoundTrip) {
  auto cva = ExpectRoundTrip<CStorVolumeAttachment>(kCva);
  const AttachedVolume& v = cva.spec.volume;
  EXPECT_EQ(v.owner_node_id, "worker-2");
  EXPECT_EQ(v.fs_type, "ext4");
  EXPECT_EQ(v.access_modes, std::vector<std::string>{"ReadWriteOnce"});
  EXPECT_EQ(v.access_type, "mount");
  EXPECT_EQ(v.staging_target_path, "/var/lib/kubelet/plugins/staging");
  EXPECT_EQ(v.mount_options, std::vector<std::string>{"noatime"});
  EXPECT_EQ(v.device_path, "/dev/sdc");
  EXPECT_EQ(cva.spec.iscsi.target_portal, "10.96.12.7:3260");
  EXPECT_EQ(cva.spec.iscsi.iscsi_interface, "default");
  EXPECT_EQ(cva.spec.iscsi.lun, "0");
  EXPECT_EQ(cva.status, cva_status::kMounted);
}

// ---- Kubernetes kinds

TEST(KubeTypesTest, NamespaceAndNodeRoundTrip) {
  auto ns = ExpectRoundTrip<Namespace>(R"({"apiVersion": "v1", "kind": "Namespace",
    "metadata": {"name": "openebs", "labels": {"kubernetes.io/metadata.name": "openebs"},
      "managedFields": []},
    "spec": {"finalizers": ["kubernetes"]},
    "status": {"phase": "Active", "conditions": [{"type": "X", "extra": 1}]}})");
  EXPECT_EQ(ns.status.phase, "Active");

  auto node = ExpectRoundTrip<Node>(R"({"apiVersion": "v1", "kind": "Node",
    "metadata": {"name": "worker-1", "labels": {"kubernetes.io/hostname": "worker-1"},
      "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
    "spec": {"podCIDR": "10.244.1.0/24"},
    "status": {"addresses": [{"type": "InternalIP", "address": "172.18.0.3", "zone": "z"},
        {"type": "Hostname", "address": "worker-1"}],
      "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
        "message": "kubelet is posting ready status", "lastHeartbeatTime": "2023-10-01T10:00:00Z",
        "lastTransitionTime": "2023-09-30T10:00:00Z"}],
      "nodeInfo": {"kernelVersion": "6.1.0"}}})");
  EXPECT_EQ(node.metadata.labels.at("kubernetes.io/hostname"), "worker-1");
  EXPECT_EQ(node.status.addresses.at(0).address, "172.18.0.3");
  EXPECT_EQ(node.status.conditions.at(0).reason, "KubeletReady");
}

TEST(KubeTypesTest, ServiceAndDeploymentRoundTrip) {
  auto svc = ExpectRoundTrip<Service>(R"({"apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "pvc-9f1e", "namespace": "openebs", "resourceVersion": "5",
      "labels": {"openebs.io/persistent-volume": "pvc-9f1e"}, "managedFields": []},
    "spec": {"type": "ClusterIP", "clusterIP": "10.96.12.7", "clusterIPs": ["10.96.12.7"],
      "ports": [{"name": "cstor-iscsi", "port": 3260, "targetPort": 3260, "protocol": "TCP"},
        {"name": "mgmt", "port": 6060, "targetPort": "mgmt", "protocol": "TCP", "appProtocol": "x"}],
      "selector": {"app": "cstor-volume-manager", "openebs.io/persistent-volume": "pvc-9f1e"},
      "sessionAffinity": "None"},
    "status": {"loadBalancer": {}}})");
  EXPECT_EQ(svc.spec.cluster_ip, "10.96.12.7");
  EXPECT_EQ(svc.spec.ports.at(0).port, 3260);
  EXPECT_EQ(svc.spec.ports.at(0).target_port, 3260);
  EXPECT_EQ(svc.spec.ports.at(1).target_port, "mgmt");
  EXPECT_EQ(svc.spec.selector.at("app"), "cstor-volume-manager");

  auto deploy = ExpectRoundTrip<Deployment>(R"({"apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "pvc-9f1e-target", "namespace": "openebs", "generation": 3,
      "annotations": {"deployment.kubernetes.io/revision": "1"}},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "cstor-volume-manager"},
        "matchExpressions": []},
      "strategy": {"type": "Recreate", "rollingUpdate": null},
      "template": {"metadata": {"labels": {"app": "cstor-volume-manager"}},
        "spec": {"containers": [{"name": "cstor-istgt", "image": "openebs/cstor-istgt:3.5.0"}]}},
      "revisionHistoryLimit": 10},
    "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "observedGeneration": 3}})");
  EXPECT_EQ(deploy.spec.replicas, 1);
  EXPECT_EQ(deploy.spec.selector.match_labels.at("app"), "cstor-volume-manager");
  EXPECT_EQ(deploy.spec.strategy.type, "Recreate");
  EXPECT_EQ(deploy.spec.template_["spec"]["containers"][0]["name"], "cstor-istgt");
  EXPECT_EQ(deploy.status.available_replicas, 1);
}

TEST(KubeTypesTest, EventAndLeaseRoundTrip) {
  auto event = ExpectRoundTrip<Event>(R"({"apiVersion": "v1", "kind": "Event",
    "metadata": {"name": "pvc-9f1e.178a", "namespace": "openebs", "managedFields": []},
    "involvedObject": {"kind": "CStorVolumeConfig", "namespace": "openebs", "name": "pvc-9f1e",
      "uid": "c0c0", "apiVersion": "cstor.openebs.io/v1", "resourceVersion": "77",
      "fieldPath": "spec", "extra": 1},
    "reason": "Provisioning", "message": "replicaCount 3 but only 2 usable pools",
    "type": "Warning", "count": 4, "firstTimestamp": "2023-10-01T10:00:00Z",
    "lastTimestamp": "2023-10-01T10:04:00Z", "source": {"component": "cvc-operator", "host": "h"},
    "reportingComponent": "", "reportingInstance": "", "eventTime": null})");
  EXPECT_EQ(event.involved_object.field_path, "spec");
  EXPECT_EQ(event.involved_object.resource_version, "77");
  EXPECT_EQ(event.count, 4);
  EXPECT_EQ(event.source.component, "cvc-operator");
  EXPECT_EQ(event.last_timestamp, "2023-10-01T10:04:00Z");

  auto lease = ExpectRoundTrip<Lease>(R"({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
    "metadata": {"name": "cvc-operator", "namespace": "openebs", "resourceVersion": "9"},
    "spec": {"holderIdentity": "cvc-operator-7c9f", "leaseDurationSeconds": 15,
      "acquireTime": "2023-10-01T10:00:00.000000Z", "renewTime": "2023-10-01T10:00:10.000000Z",
      "leaseTransitions": 2, "strategy": "Older"}})");
  EXPECT_EQ(lease.spec.holder_identity, "cvc-operator-7c9f");
  EXPECT_EQ(lease.spec.lease_duration_seconds, 15);
  EXPECT_EQ(lease.spec.renew_time, "2023-10-01T10:00:10.000000Z");
  EXPECT_EQ(lease.spec.lease_transitions, 2);
}

TEST(KubeTypesTest, VolumeKindsRoundTrip) {
  auto pv = ExpectRoundTrip<PersistentVolume>(R"({"apiVersion": "v1", "kind": "PersistentVolume",
    "metadata": {"name": "pvc-9f1e", "annotations": {"pv.kubernetes.io/provisioned-by": "cstor.csi.openebs.io"},
      "finalizers": ["kubernetes.io/pv-protection"]},
    "spec": {"capacity": {"storage": "10Gi"},
      "csi": {"driver": "cstor.csi.openebs.io", "volumeHandle": "pvc-9f1e", "fsType": "ext4",
        "volumeAttributes": {"openebs.io/cas-type": "cstor"}, "nodeStageSecretRef": null},
      "accessModes": ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Delete",
      "storageClassName": "cstor-csi", "volumeMode": "Filesystem",
      "claimRef": {"kind": "PersistentVolumeClaim", "namespace": "default", "name": "data-0"}},
    "status": {"phase": "Bound", "lastPhaseTransitionTime": "2023-10-01T10:00:00Z"}})");
  EXPECT_EQ(pv.spec.csi.volume_handle, "pvc-9f1e");
  EXPECT_EQ(pv.spec.csi.volume_attributes.at("openebs.io/cas-type"), "cstor");
  EXPECT_EQ(pv.spec.persistent_volume_reclaim_policy, "Delete");
  EXPECT_EQ(pv.spec.claim_ref["name"], "data-0");
  EXPECT_EQ(pv.status.phase, "Bound");

  auto pvc = ExpectRoundTrip<PersistentVolumeClaim>(R"({"apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {"name": "data-0", "namespace": "default", "uid": "p01"},
    "spec": {"accessModes": ["ReadWriteOnce"],
      "resources": {"requests": {"storage": "10Gi"}, "limits": {"storage": "20Gi"}},
      "storageClassName": "", "volumeName": "pvc-9f1e", "volumeMode": "Block", "dataSource": null},
    "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"]}})");
  EXPECT_EQ(pvc.spec.resources.requests.at("storage"), "10Gi");
  EXPECT_EQ(pvc.spec.storage_class_name, "");  // present and empty: "no class"
  EXPECT_EQ(pvc.spec.volume_mode, "Block");
  EXPECT_EQ(pvc.status.capacity.at("storage"), "10Gi");

  auto sc = ExpectRoundTrip<StorageClass>(R"({"apiVersion": "storage.k8s.io/v1",
    "kind": "StorageClass", "metadata": {"name": "cstor-csi", "managedFields": []},
    "provisioner": "cstor.csi.openebs.io",
    "parameters": {"cas-type": "cstor", "cstorPoolCluster": "cspc-disk", "replicaCount": "3"},
    "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer",
    "allowVolumeExpansion": false, "mountOptions": ["noatime"]})");
  EXPECT_EQ(sc.parameters.at("replicaCount"), "3");
  EXPECT_EQ(sc.volume_binding_mode, "WaitForFirstConsumer");
  EXPECT_EQ(sc.allow_volume_expansion, false);
}

TEST(KubeTypesTest, CustomResourceDefinitionRoundTrip) {
  auto crd = ExpectRoundTrip<CustomResourceDefinition>(R"({
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "cstorvolumes.cstor.openebs.io", "annotations": {"a": "b"}},
    "spec": {"group": "cstor.openebs.io", "scope": "Namespaced", "conversion": {"strategy": "None"},
      "names": {"kind": "CStorVolume", "listKind": "CStorVolumeList", "plural": "cstorvolumes",
        "singular": "cstorvolume", "shortNames": ["cv"], "categories": ["all"]},
      "versions": [{"name": "v1", "served": true, "storage": true,
        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
        "subresources": {"status": {}},
        "additionalPrinterColumns": [{"name": "Status", "type": "string", "jsonPath": ".status.phase"}],
        "deprecated": false},
        {"name": "v1alpha1", "served": false, "storage": false}]},
    "status": {"conditions": [{"type": "Established", "status": "True", "reason": "InitialNamesAccepted"}],
      "acceptedNames": {"kind": "CStorVolume", "plural": "cstorvolumes"},
      "storedVersions": ["v1"]}})");
  EXPECT_EQ(crd.spec.names.list_kind, "CStorVolumeList");
  EXPECT_EQ(crd.spec.names.short_names, std::vector<std::string>{"cv"});
  ASSERT_EQ(crd.spec.versions.size(), 2u);
  EXPECT_TRUE(crd.spec.versions[0].served);
  EXPECT_FALSE(crd.spec.versions[1].storage);
  EXPECT_EQ(crd.spec.versions[0].subresources, json::parse(R"({"status": {}})"));
  EXPECT_EQ(crd.status.accepted_names.plural, "cstorvolumes");
}

TEST(KubeTypesTest, ResourceTypes) {
  EXPECT_EQ(CStorVolumeReplica::kType.ApiVersion(), "cstor.openebs.io/v1");
  EXPECT_EQ(CStorVolumePolicy::kType.resource, "cstorvolumepolicies");
  EXPECT_TRUE(CStorPoolCluster::kType.namespaced);
  EXPECT_EQ(Node::kType.ApiVersion(), "v1");
  EXPECT_EQ(Deployment::kType.ApiVersion(), "apps/v1");
  EXPECT_FALSE(Namespace::kType.namespaced);
  EXPECT_FALSE(Node::kType.namespaced);
  EXPECT_FALSE(PersistentVolume::kType.namespaced);
  EXPECT_FALSE(StorageClass::kType.namespaced);
  EXPECT_FALSE(CustomResourceDefinition::kType.namespaced);
  EXPECT_TRUE(PersistentVolumeClaim::kType.namespaced);
  EXPECT_TRUE(Lease::kType.namespaced);
}

// ---- Edits through typed fields

TEST(RoundTripTest, TypedEditsShowUpAndKeepUnknownFields) {
  auto cvr = json::parse(kCvr).get<CStorVolumeReplica>();
  cvr.spec.capacity = "20Gi";
  cvr.status.phase = cvr_phase::kRebuilding;
  cvr.status.snapshots["snap3"].logical_referenced = 42;
  cvr.metadata.labels["extra"] = "yes";
  const json out = cvr;
  EXPECT_EQ(out["spec"]["capacity"], "20Gi");
  EXPECT_EQ(out["spec"]["futureSpecField"], json::parse("[1, 2]"));
  EXPECT_EQ(out["status"]["phase"], "Rebuilding");
  EXPECT_EQ(out["status"]["capacity"]["logical"], "2Gi");
  EXPECT_EQ(out["status"]["snapshots"]["snap1"]["createdAt"], "2023-10-01");
  EXPECT_EQ(out["status"]["snapshots"]["snap3"], json::parse(R"({"logicalReferenced": 42})"));
  EXPECT_EQ(out["metadata"]["labels"]["extra"], "yes");
  EXPECT_EQ(out["metadata"]["managedFields"][0]["manager"], "pool-manager");
}

TEST(RoundTripTest, ClearingAFieldErasesItsKey) {
  auto cvr = json::parse(kCvr).get<CStorVolumeReplica>();
  cvr.spec.target_ip.clear();
  cvr.spec.block_size = 0;
  cvr.metadata.finalizers.clear();
  cvr.metadata.deletion_timestamp.reset();
  cvr.status.pending_snapshots.clear();
  json out = cvr;
  EXPECT_FALSE(out["spec"].contains("targetIP"));
  EXPECT_FALSE(out["spec"].contains("blockSize"));
  EXPECT_TRUE(out["spec"].contains("replicaid"));
  EXPECT_FALSE(out["metadata"].contains("finalizers"));
  EXPECT_FALSE(out["metadata"].contains("deletionTimestamp"));
  EXPECT_FALSE(out["status"].contains("pendingSnapshots"));

  auto cspc = json::parse(kCspc).get<CStorPoolCluster>();
  cspc.spec.pools[0].pool_config.ro_threshold_limit.reset();
  cspc.spec.resources = nullptr;
  out = cspc;
  EXPECT_FALSE(out["spec"]["pools"][0]["poolConfig"].contains("roThresholdLimit"));
  EXPECT_EQ(out["spec"]["pools"][0]["poolConfig"]["futureKnob"]["level"], 3);
  EXPECT_FALSE(out["spec"].contains("resources"));
}

TEST(RoundTripTest, ExplicitEmptyValuesFromTheInputSurvive) {
  // cStor writes readOnly: false and empty strings; a null stays null.
  const json in = json::parse(R"({"readOnly": false, "phase": "", "healthyReplicas": null})");
  const json out = in.get<CStorPoolInstanceStatus>();
  EXPECT_EQ(out, in);
}

TEST(RoundTripTest, NewObjectWritesOnlyWhatIsSet) {
  CStorVolumeConfig cvc;
  cvc.metadata.name = "pvc-1";
  cvc.metadata.namespace_ = std::string(kOpenEBSNamespace);
  cvc.spec.capacity[std::string(kResourceStorage)] = "5Gi";
  cvc.spec.provision.replica_count = 1;
  cvc.spec.policy.provision.replica_affinity = true;
  const json expected = json::parse(R"({
    "apiVersion": "cstor.openebs.io/v1", "kind": "CStorVolumeConfig",
    "metadata": {"name": "pvc-1", "namespace": "openebs"},
    "spec": {"capacity": {"storage": "5Gi"}, "provision": {"replicaCount": 1},
      "policy": {"provision": {"replicaAffinity": true}}}})");
  EXPECT_EQ(json(cvc), expected);

  CRDVersion version;
  version.name = "v1";
  EXPECT_EQ(json(version), json::parse(R"({"name": "v1", "served": false, "storage": false})"));

  StorageClass sc;
  sc.allow_volume_expansion = false;  // optional: false is still written
  EXPECT_EQ(json(sc)["allowVolumeExpansion"], false);
}

TEST(RoundTripTest, WrongJsonTypeThrows) {
  json in = json::parse(kCv);
  in["spec"]["replicationFactor"] = "3";
  EXPECT_THROW(in.get<CStorVolume>(), json::type_error);

  in = json::parse(kCv);
  in["metadata"]["labels"] = "not-a-map";
  EXPECT_THROW(in.get<CStorVolume>(), json::type_error);

  in = json::parse(kCv);
  in["spec"] = json::array();
  EXPECT_THROW(in.get<CStorVolume>(), json::type_error);

  EXPECT_THROW(json::parse("[1]").get<CStorVolume>(), json::type_error);
  EXPECT_THROW(json::parse(R"({"readOnly": "yes"})").get<CStorPoolInstanceStatus>(),
               json::type_error);
}

TEST(ListTest, ParsesPageAndItems) {
  const json in = json::parse(R"({"apiVersion": "cstor.openebs.io/v1",
    "kind": "CStorVolumeReplicaList",
    "metadata": {"resourceVersion": "991", "continue": "token-2"},
    "items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}]})");
  auto list = in.get<List<CStorVolumeReplica>>();
  EXPECT_EQ(list.resource_version, "991");
  EXPECT_EQ(list.continue_token, "token-2");
  ASSERT_EQ(list.items.size(), 2u);
  EXPECT_EQ(list.items[1].metadata.name, "b");

  const json out = list;
  EXPECT_EQ(out["kind"], "CStorVolumeReplicaList");
  EXPECT_EQ(out["metadata"]["continue"], "token-2");
  EXPECT_EQ(out["items"][0]["kind"], "CStorVolumeReplica");

  auto empty = json::parse(R"({"items": null, "metadata": {}})").get<List<Node>>();
  EXPECT_TRUE(empty.items.empty());
  EXPECT_THROW(json::parse(R"({"metadata": "x"})").get<List<Node>>(), json::type_error);
}

// ---- Metadata helpers

TEST(MetaTest, Finalizers) {
  ObjectMeta meta;
  EXPECT_FALSE(HasFinalizer(meta, kFinalizerVolumeConfig));
  EXPECT_TRUE(AddFinalizer(meta, kFinalizerVolumeConfig));
  EXPECT_FALSE(AddFinalizer(meta, kFinalizerVolumeConfig));
  EXPECT_TRUE(AddFinalizer(meta, kFinalizerPoolProtection));
  EXPECT_EQ(meta.finalizers.size(), 2u);
  EXPECT_TRUE(HasFinalizer(meta, kFinalizerVolumeConfig));
  EXPECT_TRUE(RemoveFinalizer(meta, kFinalizerVolumeConfig));
  EXPECT_FALSE(RemoveFinalizer(meta, kFinalizerVolumeConfig));
  EXPECT_FALSE(HasFinalizer(meta, kFinalizerVolumeConfig));
  EXPECT_EQ(meta.finalizers, std::vector<std::string>{std::string(kFinalizerPoolProtection)});
}

Condition MakeCondition(std::string_view type, std::string_view status, std::string_view reason) {
  Condition c;
  c.type = type;
  c.status = status;
  c.reason = reason;
  return c;
}

TEST(MetaTest, SetCondition) {
  std::vector<Condition> conds;
  EXPECT_TRUE(SetCondition(conds, MakeCondition("Ready", kConditionFalse, "NoQuorum"), "t1"));
  ASSERT_EQ(conds.size(), 1u);
  EXPECT_EQ(conds[0].last_transition_time, "t1");

  // Same status, new reason: changed, but the transition time stays.
  EXPECT_TRUE(SetCondition(conds, MakeCondition("Ready", kConditionFalse, "Rebuilding"), "t2"));
  EXPECT_EQ(conds[0].reason, "Rebuilding");
  EXPECT_EQ(conds[0].last_transition_time, "t1");

  // Nothing new: no change.
  EXPECT_FALSE(SetCondition(conds, MakeCondition("Ready", kConditionFalse, "Rebuilding"), "t3"));
  EXPECT_EQ(conds[0].last_transition_time, "t1");

  // Status flips: the transition time moves.
  EXPECT_TRUE(SetCondition(conds, MakeCondition("Ready", kConditionTrue, "QuorumHealthy"), "t4"));
  EXPECT_EQ(conds[0].last_transition_time, "t4");

  // Another type is appended; the first is found by type.
  EXPECT_TRUE(SetCondition(conds, MakeCondition("Resizing", kConditionTrue, ""), "t5"));
  EXPECT_EQ(conds.size(), 2u);
  ASSERT_NE(FindCondition(conds, "Ready"), nullptr);
  EXPECT_EQ(FindCondition(conds, "Ready")->status, kConditionTrue);
  EXPECT_EQ(FindCondition(conds, "Missing"), nullptr);
}

TEST(MetaTest, SetConditionKeepsUnmodeledFields) {
  std::vector<Condition> conds = json::parse(
      R"([{"type": "Ready", "status": "True", "lastHeartbeatTime": "h1"}])")
                                     .get<std::vector<Condition>>();
  EXPECT_TRUE(SetCondition(conds, MakeCondition("Ready", kConditionFalse, "Down"), "t9"));
  EXPECT_EQ(json(conds)[0]["lastHeartbeatTime"], "h1");
  EXPECT_EQ(json(conds)[0]["lastTransitionTime"], "t9");
}

TEST(MetaTest, ControllerRef) {
  CStorVolume cv;
  cv.metadata.name = "pvc-9f1e";
  cv.metadata.uid = "cv01";
  const OwnerReference ref = ControllerRef(cv);
  EXPECT_EQ(ref.api_version, "cstor.openebs.io/v1");
  EXPECT_EQ(ref.kind, "CStorVolume");
  EXPECT_EQ(ref.name, "pvc-9f1e");
  EXPECT_EQ(ref.uid, "cv01");
  EXPECT_EQ(ref.controller, true);
  EXPECT_EQ(json(ref), json::parse(R"({"apiVersion": "cstor.openebs.io/v1", "kind": "CStorVolume",
    "name": "pvc-9f1e", "uid": "cv01", "controller": true, "blockOwnerDeletion": true})"));

  CStorVolumeReplica cvr;
  EXPECT_EQ(ControllerOf(cvr.metadata), nullptr);
  cvr.metadata.owner_references.push_back(ref);
  ASSERT_NE(ControllerOf(cvr.metadata), nullptr);
  EXPECT_EQ(ControllerOf(cvr.metadata)->uid, "cv01");
}

}  // namespace
}  // namespace cstor::api
