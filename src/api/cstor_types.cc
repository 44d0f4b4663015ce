// JSON keys of the cStor kinds: one line per field, read and written by the same list.
#include "api/cstor_types.h"

namespace cstor::api {

// ---- CStorPoolCluster

template <>
struct JsonFields<PoolBlockDevice> {
  static void Visit(auto& x, auto&& f) {
    f("blockDeviceName", x.block_device_name);
    f("capacity", x.capacity);
    f("devLink", x.dev_link);
  }
};

template <>
struct JsonFields<RaidGroup> {
  static void Visit(auto& x, auto&& f) { f("blockDevices", x.block_devices); }
};

template <>
struct JsonFields<PoolConfig> {
  static void Visit(auto& x, auto&& f) {
    f("dataRaidGroupType", x.data_raid_group_type);
    f("writeCacheGroupType", x.write_cache_group_type);
    f("thickProvision", x.thick_provision);
    f("compression", x.compression);
    f("resources", x.resources);
    f("auxResources", x.aux_resources);
    f("tolerations", x.tolerations);
    f("priorityClassName", x.priority_class_name);
    f("roThresholdLimit", x.ro_threshold_limit);
  }
};

template <>
struct JsonFields<PoolSpec> {
  static void Visit(auto& x, auto&& f) {
    f("nodeSelector", x.node_selector);
    f("dataRaidGroups", x.data_raid_groups);
    f("writeCacheRaidGroups", x.write_cache_raid_groups);
    f("poolConfig", x.pool_config);
  }
};

template <>
struct JsonFields<CStorPoolClusterSpec> {
  static void Visit(auto& x, auto&& f) {
    f("pools", x.pools);
    f("resources", x.resources);
    f("auxResources", x.aux_resources);
    f("tolerations", x.tolerations);
    f("priorityClassName", x.priority_class_name);
  }
};

template <>
struct JsonFields<CStorPoolClusterStatus> {
  static void Visit(auto& x, auto&& f) {
    f("provisionedInstances", x.provisioned_instances);
    f("desiredInstances", x.desired_instances);
    f("healthyInstances", x.healthy_instances);
    f("conditions", x.conditions);
  }
};

template <>
struct JsonFields<CStorPoolCluster> {
  static void Visit(auto& x, auto&& f) {
    f("metadata", x.metadata);
    f("spec", x.spec);
    f("status", x.status);
  }
};

// ---- CStorPoolInstance

template <>
struct JsonFields<CStorPoolInstanceSpec> {
  static void Visit(auto& x, auto&& f) {
    f("hostName", x.host_name);
    f("nodeSelector", x.node_selector);
    f("poolConfig", x.pool_config);
    f("dataRaidGroups", x.data_raid_groups);
    f("writeCacheRaidGroups", x.write_cache_raid_groups);
  }
};

template <>
struct JsonFields<ZfsCapacity> {
  static void Visit(auto& x, auto&& f) { f("logicalUsed", x.logical_used); }
};

template <>
struct JsonFields<PoolCapacity> {
  static void Visit(auto& x, auto&& f) {
    f("used", x.used);
    f("free", x.free);
    f("total", x.total);
    f("zfs", x.zfs);
  }
};

template <>
struct JsonFields<CStorPoolInstanceStatus> {
  static void Visit(auto& x, auto&& f) {
    f("conditions", x.conditions);
    f("phase", x.phase);
    f("capacity", x.capacity);
    f("readOnly", x.read_only);
    f("provisionedReplicas", x.provisioned_replicas);
    f("healthyReplicas", x.healthy_replicas);
  }
};

template <>
struct JsonFields<CStorPoolInstance> {
  static void Visit(auto& x, auto&& f) {
    f("metadata", x.metadata);
    f("spec", x.spec);
    f("status", x.status);
  }
};

// ---- CStorVolumePolicy

template <>
struct JsonFields<PolicyProvision> {
  static void Visit(auto& x, auto&& f) {
    f("replicaAffinity", x.replica_affinity);
    f("blockSize", x.block_size);
  }
};

template <>
struct JsonFields<PolicyTarget> {
  static void Visit(auto& x, auto&& f) {
    f("queueDepth", x.queue_depth);
    f("luWorkers", x.lu_workers);
    f("monitor", x.monitor);
    f("replicationFactor", x.replication_factor);
    f("resources", x.resources);
    f("auxResources", x.aux_resources);
    f("tolerations", x.tolerations);
    f("affinity", x.affinity);
    f("nodeSelector", x.node_selector);
    f("priorityClassName", x.priority_class_name);
  }
};

template <>
struct JsonFields<PolicyReplica> {
  static void Visit(auto& x, auto&& f) {
    f("zvolWorkers", x.zvol_workers);
    f("compression", x.compression);
  }
};

template <>
struct JsonFields<ReplicaPoolInfo> {
  static void Visit(auto& x, auto&& f) { f("poolName", x.pool_name); }
};

template <>
struct JsonFields<CStorVolumePolicySpec> {
  static void Visit(auto& x, auto&& f) {
    f("provision", x.provision);
    f("target", x.target);
    f("replica", x.replica);
    f("replicaPoolInfo", x.replica_pool_info);
  }
};

template <>
struct JsonFields<CStorVolumePolicyStatus> {
  static void Visit(auto& x, auto&& f) { f("phase", x.phase); }
};

template <>
struct JsonFields<CStorVolumePolicy> {
  static void Visit(auto& x, auto&& f) {
    f("metadata", x.metadata);
    f("spec", x.spec);
    f("status", x.status);
  }
};

// ---- CStorVolumeConfig

template <>
struct JsonFields<VolumeProvision> {
  static void Visit(auto& x, auto&& f) {
    f("capacity", x.capacity);
    f("replicaCount", x.replica_count);
  }
};

template <>
struct JsonFields<CStorVolumeConfigSpec> {
  static void Visit(auto& x, auto&& f) {
    f("capacity", x.capacity);
    f("cstorVolumeRef", x.cstor_volume_ref);
    f("cstorVolumeSource", x.cstor_volume_source);
    f("provision", x.provision);
    f("policy", x.policy);
  }
};

template <>
struct JsonFields<CStorVolumeConfigPublish> {
  static void Visit(auto& x, auto&& f) { f("nodeId", x.node_id); }
};

template <>
struct JsonFields<CStorVolumeConfigStatus> {
  static void Visit(auto& x, auto&& f) {
    f("phase", x.phase);
    f("poolInfo", x.pool_info);
    f("capacity", x.capacity);
    f("condition", x.conditions);
  }
};

template <>
struct JsonFields<CStorVolumeConfig> {
  static void Visit(auto& x, auto&& f) {
    f("metadata", x.metadata);
    f("spec", x.spec);
    f("publish", x.publish);
    f("status", x.status);
  }
};

// ---- CStorVolume

template <>
struct JsonFields<ReplicaDetails> {
  static void Visit(auto& x, auto&& f) { f("knownReplicas", x.known_replicas); }
};

template <>
struct JsonFields<CStorVolumeSpec> {
  static void Visit(auto& x, auto&& f) {
    f("capacity", x.capacity);
    f("targetIP", x.target_ip);
    f("targetPort", x.target_port);
    f("iqn", x.iqn);
    f("targetPortal", x.target_portal);
    f("replicationFactor", x.replication_factor);
    f("consistencyFactor", x.consistency_factor);
    f("desiredReplicationFactor", x.desired_replication_factor);
    f("replicaDetails", x.replica_details);
  }
};

template <>
struct JsonFields<ReplicaStatus> {
  static void Visit(auto& x, auto&& f) {
    f("replicaId", x.replica_id);
    f("mode", x.mode);
    f("checkpointedIOSeq", x.checkpointed_io_seq);
    f("inflightRead", x.inflight_read);
    f("inflightWrite", x.inflight_write);
    f("inflightSync", x.inflight_sync);
    f("upTime", x.up_time);
    f("quorum", x.quorum);
  }
};

template <>
struct JsonFields<CStorVolumeStatus> {
  static void Visit(auto& x, auto&& f) {
    f("phase", x.phase);
    f("replicaStatuses", x.replica_statuses);
    f("capacity", x.capacity);
    f("lastTransitionTime", x.last_transition_time);
    f("lastUpdateTime", x.last_update_time);
    f("message", x.message);
    f("replicaDetails", x.replica_details);
    f("conditions", x.conditions);
  }
};

template <>
struct JsonFields<CStorVolume> {
  static void Visit(auto& x, auto&& f) {
    f("metadata", x.metadata);
    f("spec", x.spec);
    f("status", x.status);
  }
};

// ---- CStorVolumeReplica

template <>
struct JsonFields<CStorVolumeReplicaSpec> {
  static void Visit(auto& x, auto&& f) {
    f("targetIP", x.target_ip);
    f("capacity", x.capacity);
    f("zvolWorkers", x.zvol_workers);
    f("replicaid", x.replica_id);
    f("compression", x.compression);
    f("blockSize", x.block_size);
  }
};

template <>
struct JsonFields<ReplicaCapacity> {
  static void Visit(auto& x, auto&& f) {
    f("total", x.total);
    f("used", x.used);
  }
};

template <>
struct JsonFields<SnapshotInfo> {
  static void Visit(auto& x, auto&& f) { f("logicalReferenced", x.logical_referenced); }
};

template <>
struct JsonFields<CStorVolumeReplicaStatus> {
  static void Visit(auto& x, auto&& f) {
    f("phase", x.phase);
    f("capacity", x.capacity);
    f("lastTransitionTime", x.last_transition_time);
    f("lastUpdateTime", x.last_update_time);
    f("message", x.message);
    f("snapshots", x.snapshots);
    f("pendingSnapshots", x.pending_snapshots);
  }
};

template <>
struct JsonFields<CStorVolumeReplica> {
  static void Visit(auto& x, auto&& f) {
    f("metadata", x.metadata);
    f("spec", x.spec);
    f("status", x.status);
  }
};

// ---- CStorVolumeAttachment

template <>
struct JsonFields<AttachedVolume> {
  static void Visit(auto& x, auto&& f) {
    f("name", x.name);
    f("capacity", x.capacity);
    f("ownerNodeID", x.owner_node_id);
    f("fsType", x.fs_type);
    f("accessModes", x.access_modes);
    f("accessType", x.access_type);
    f("stagingTargetPath", x.staging_target_path);
    f("targetPath", x.target_path);
    f("readOnly", x.read_only);
    f("mountOptions", x.mount_options);
    f("devicePath", x.device_path);
  }
};

template <>
struct JsonFields<IscsiInfo> {
  static void Visit(auto& x, auto&& f) {
    f("iqn", x.iqn);
    f("targetPortal", x.target_portal);
    f("iscsiInterface", x.iscsi_interface);
    f("lun", x.lun);
  }
};

template <>
struct JsonFields<CStorVolumeAttachmentSpec> {
  static void Visit(auto& x, auto&& f) {
    f("volume", x.volume);
    f("iscsi", x.iscsi);
  }
};

template <>
struct JsonFields<CStorVolumeAttachment> {
  static void Visit(auto& x, auto&& f) {
    f("metadata", x.metadata);
    f("spec", x.spec);
    f("status", x.status);
  }
};

CSTOR_API_JSON_DEFINE(PoolBlockDevice)
CSTOR_API_JSON_DEFINE(RaidGroup)
CSTOR_API_JSON_DEFINE(PoolConfig)
CSTOR_API_JSON_DEFINE(PoolSpec)
CSTOR_API_JSON_DEFINE(CStorPoolClusterSpec)
CSTOR_API_JSON_DEFINE(CStorPoolClusterStatus)
CSTOR_API_JSON_DEFINE(CStorPoolCluster)
CSTOR_API_JSON_DEFINE(CStorPoolInstanceSpec)
CSTOR_API_JSON_DEFINE(ZfsCapacity)
CSTOR_API_JSON_DEFINE(PoolCapacity)
CSTOR_API_JSON_DEFINE(CStorPoolInstanceStatus)
CSTOR_API_JSON_DEFINE(CStorPoolInstance)
CSTOR_API_JSON_DEFINE(PolicyProvision)
CSTOR_API_JSON_DEFINE(PolicyTarget)
CSTOR_API_JSON_DEFINE(PolicyReplica)
CSTOR_API_JSON_DEFINE(ReplicaPoolInfo)
CSTOR_API_JSON_DEFINE(CStorVolumePolicySpec)
CSTOR_API_JSON_DEFINE(CStorVolumePolicyStatus)
CSTOR_API_JSON_DEFINE(CStorVolumePolicy)
CSTOR_API_JSON_DEFINE(VolumeProvision)
CSTOR_API_JSON_DEFINE(CStorVolumeConfigSpec)
CSTOR_API_JSON_DEFINE(CStorVolumeConfigPublish)
CSTOR_API_JSON_DEFINE(CStorVolumeConfigStatus)
CSTOR_API_JSON_DEFINE(CStorVolumeConfig)
CSTOR_API_JSON_DEFINE(ReplicaDetails)
CSTOR_API_JSON_DEFINE(CStorVolumeSpec)
CSTOR_API_JSON_DEFINE(ReplicaStatus)
CSTOR_API_JSON_DEFINE(CStorVolumeStatus)
CSTOR_API_JSON_DEFINE(CStorVolume)
CSTOR_API_JSON_DEFINE(CStorVolumeReplicaSpec)
CSTOR_API_JSON_DEFINE(ReplicaCapacity)
CSTOR_API_JSON_DEFINE(SnapshotInfo)
CSTOR_API_JSON_DEFINE(CStorVolumeReplicaStatus)
CSTOR_API_JSON_DEFINE(CStorVolumeReplica)
CSTOR_API_JSON_DEFINE(AttachedVolume)
CSTOR_API_JSON_DEFINE(IscsiInfo)
CSTOR_API_JSON_DEFINE(CStorVolumeAttachmentSpec)
CSTOR_API_JSON_DEFINE(CStorVolumeAttachment)

}  // namespace cstor::api
