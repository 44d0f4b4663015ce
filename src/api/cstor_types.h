// The seven cStor kinds (group cstor.openebs.io, version v1, all namespaced), with the
// phases, condition types, labels, annotations and finalizers the controllers agree on.
// The shapes follow /work/shared/reference/resources.md. C++ names are the JSON names in
// snake_case; cstor_types.cc holds the exact JSON keys. Quantities ("10Gi") stay strings;
// resource requirements, tolerations and affinity pass through as JSON. Every struct keeps
// what it does not model in `raw` (see json_fields.h).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/meta.h"
#include "api/resource.h"

namespace cstor::api {

// ---- Labels, annotations and finalizers --------------------------------------------------

inline constexpr std::string_view kLabelHostName = "kubernetes.io/hostname";
inline constexpr std::string_view kLabelPoolCluster = "openebs.io/cstor-pool-cluster";
inline constexpr std::string_view kLabelVersion = "openebs.io/version";
inline constexpr std::string_view kLabelCasType = "openebs.io/cas-type";
inline constexpr std::string_view kCasTypeCStor = "cstor";  // the value of kLabelCasType
inline constexpr std::string_view kLabelPoolInstanceName = "cstorpoolinstance.openebs.io/name";
inline constexpr std::string_view kLabelPoolInstanceUID = "cstorpoolinstance.openebs.io/uid";
inline constexpr std::string_view kLabelVolumeName = "cstorvolume.openebs.io/name";
inline constexpr std::string_view kLabelPersistentVolume = "openebs.io/persistent-volume";
inline constexpr std::string_view kLabelSourceVolume = "openebs.io/source-volume";

inline constexpr std::string_view kAnnotationVolumeID = "openebs.io/volumeID";
inline constexpr std::string_view kAnnotationVolumePolicy = "openebs.io/volume-policy";
inline constexpr std::string_view kAnnotationPersistentVolumeClaim =
    "openebs.io/persistent-volume-claim";

inline constexpr std::string_view kFinalizerPoolCluster = "cstorpoolcluster.openebs.io/finalizer";
inline constexpr std::string_view kFinalizerPoolProtection = "openebs.io/pool-protection";
inline constexpr std::string_view kFinalizerVolumeConfig = "cvc.openebs.io/finalizer";
inline constexpr std::string_view kFinalizerVolumeReplica =
    "cstorvolumereplica.openebs.io/finalizer";

// ---- CStorPoolCluster (cspc): the pools an administrator asks for --------------------------

namespace raid_type {
inline constexpr std::string_view kStripe = "stripe";
inline constexpr std::string_view kMirror = "mirror";
inline constexpr std::string_view kRaidz = "raidz";
inline constexpr std::string_view kRaidz2 = "raidz2";
}  // namespace raid_type

namespace cspc_condition {
inline constexpr std::string_view kPoolManagerAvailable = "PoolManagerAvailable";
}  // namespace cspc_condition

// A pool turns read-only when its used space reaches this percentage, unless configured.
inline constexpr int kDefaultROThresholdLimit = 85;

struct PoolBlockDevice {
  std::string block_device_name;
  uint64_t capacity = 0;  // bytes (a number in cStor, not a quantity)
  std::string dev_link;
  nlohmann::json raw;
};

struct RaidGroup {
  std::vector<PoolBlockDevice> block_devices;
  nlohmann::json raw;
};

struct PoolConfig {
  std::string data_raid_group_type;  // a raid_type
  std::string write_cache_group_type;
  bool thick_provision = false;
  std::string compression;
  nlohmann::json resources;
  nlohmann::json aux_resources;
  nlohmann::json tolerations;
  std::string priority_class_name;
  std::optional<int> ro_threshold_limit;  // percent; absent means kDefaultROThresholdLimit
  nlohmann::json raw;
};

struct PoolSpec {
  std::map<std::string, std::string> node_selector;
  std::vector<RaidGroup> data_raid_groups;
  std::vector<RaidGroup> write_cache_raid_groups;
  PoolConfig pool_config;
  nlohmann::json raw;
};

struct CStorPoolClusterSpec {
  std::vector<PoolSpec> pools;
  // Defaults for every pool's poolConfig.
  nlohmann::json resources;
  nlohmann::json aux_resources;
  nlohmann::json tolerations;
  std::string priority_class_name;
  nlohmann::json raw;
};

struct CStorPoolClusterStatus {
  int provisioned_instances = 0;
  int desired_instances = 0;
  int healthy_instances = 0;
  std::vector<Condition> conditions;
  nlohmann::json raw;
};

struct CStorPoolCluster {
  static constexpr ResourceType kType{kCStorGroup, "v1", "CStorPoolCluster",
                                      "cstorpoolclusters", true};
  ObjectMeta metadata;
  CStorPoolClusterSpec spec;
  CStorPoolClusterStatus status;
  nlohmann::json raw;
};

// ---- CStorPoolInstance (cspi): one pool on one node, owned by its CSPC ---------------------

namespace cspi_phase {
inline constexpr std::string_view kOnline = "ONLINE";
inline constexpr std::string_view kOffline = "OFFLINE";
inline constexpr std::string_view kDegraded = "DEGRADED";
inline constexpr std::string_view kFaulted = "FAULTED";
inline constexpr std::string_view kRemoved = "REMOVED";
inline constexpr std::string_view kUnavail = "UNAVAIL";
inline constexpr std::string_view kError = "Error";
inline constexpr std::string_view kDeletionFailed = "DeletionFailed";
inline constexpr std::string_view kPending = "Pending";
inline constexpr std::string_view kInit = "Init";
inline constexpr std::string_view kPoolCreationFailed = "PoolCreationFailed";
}  // namespace cspi_phase

namespace cspi_condition {
inline constexpr std::string_view kPoolExpansion = "PoolExpansion";
inline constexpr std::string_view kDiskReplacement = "DiskReplacement";
inline constexpr std::string_view kDiskUnavailable = "DiskUnavailable";
inline constexpr std::string_view kPoolLost = "PoolLost";
}  // namespace cspi_condition

struct CStorPoolInstanceSpec {
  std::string host_name;
  std::map<std::string, std::string> node_selector;
  PoolConfig pool_config;
  std::vector<RaidGroup> data_raid_groups;
  std::vector<RaidGroup> write_cache_raid_groups;
  nlohmann::json raw;
};

struct ZfsCapacity {
  std::string logical_used;
  nlohmann::json raw;
};

struct PoolCapacity {
  std::string used;
  std::string free;
  std::string total;
  ZfsCapacity zfs;
  nlohmann::json raw;
};

struct CStorPoolInstanceStatus {
  std::vector<Condition> conditions;
  std::string phase;  // a cspi_phase
  PoolCapacity capacity;
  bool read_only = false;
  int provisioned_replicas = 0;
  int healthy_replicas = 0;
  nlohmann::json raw;
};

struct CStorPoolInstance {
  static constexpr ResourceType kType{kCStorGroup, "v1", "CStorPoolInstance",
                                      "cstorpoolinstances", true};
  ObjectMeta metadata;
  CStorPoolInstanceSpec spec;
  CStorPoolInstanceStatus status;
  nlohmann::json raw;
};

// ---- CStorVolumePolicy (cvp): per-volume tuning, also embedded in the CVC ----------------

struct PolicyProvision {
  bool replica_affinity = false;  // prefer the pool on the publishing node
  uint32_t block_size = 0;
  nlohmann::json raw;
};

struct PolicyTarget {
  std::string queue_depth;
  int64_t lu_workers = 0;
  bool monitor = false;
  int64_t replication_factor = 0;
  nlohmann::json resources;
  nlohmann::json aux_resources;
  nlohmann::json tolerations;
  nlohmann::json affinity;
  std::map<std::string, std::string> node_selector;
  std::string priority_class_name;
  nlohmann::json raw;
};

struct PolicyReplica {
  std::string zvol_workers;
  std::string compression;
  nlohmann::json raw;
};

struct ReplicaPoolInfo {
  std::string pool_name;
  nlohmann::json raw;
};

struct CStorVolumePolicySpec {
  PolicyProvision provision;
  PolicyTarget target;
  PolicyReplica replica;
  std::vector<ReplicaPoolInfo> replica_pool_info;  // the pools replicas may live on
  nlohmann::json raw;
};

struct CStorVolumePolicyStatus {
  std::string phase;
  nlohmann::json raw;
};

struct CStorVolumePolicy {
  static constexpr ResourceType kType{kCStorGroup, "v1", "CStorVolumePolicy",
                                      "cstorvolumepolicies", true};
  ObjectMeta metadata;
  CStorVolumePolicySpec spec;
  CStorVolumePolicyStatus status;
  nlohmann::json raw;
};

// ---- CStorVolumeConfig (cvc): a volume request; name = PV name = CSI volume id -----------

namespace cvc_phase {
inline constexpr std::string_view kPending = "Pending";
inline constexpr std::string_view kBound = "Bound";
inline constexpr std::string_view kFailed = "Failed";
}  // namespace cvc_phase

namespace cvc_condition {
inline constexpr std::string_view kResizing = "Resizing";
inline constexpr std::string_view kVolumeResizeFailed = "VolumeResizeFailed";
inline constexpr std::string_view kVolumeResizeSuccessful = "VolumeResizeSuccessful";
inline constexpr std::string_view kVolumeResizePending = "VolumeResizePending";
// Ours, not cStor's: a quorum of replicas is healthy, so the volume can serve I/O.
inline constexpr std::string_view kReady = "Ready";
}  // namespace cvc_condition

struct VolumeProvision {  // immutable once set
  ResourceList capacity;
  int replica_count = 0;
  nlohmann::json raw;
};

struct CStorVolumeConfigSpec {
  ResourceList capacity;
  ObjectReference cstor_volume_ref;
  std::string cstor_volume_source;  // "<srcPV>@<snap>" for clones
  VolumeProvision provision;
  CStorVolumePolicySpec policy;
  nlohmann::json raw;
};

struct CStorVolumeConfigPublish {
  std::string node_id;
  nlohmann::json raw;
};

struct CStorVolumeConfigStatus {
  std::string phase;  // a cvc_phase
  std::vector<std::string> pool_info;
  ResourceList capacity;
  std::vector<Condition> conditions;  // JSON "condition" (singular, as in cStor)
  nlohmann::json raw;
};

struct CStorVolumeConfig {
  static constexpr ResourceType kType{kCStorGroup, "v1", "CStorVolumeConfig",
                                      "cstorvolumeconfigs", true};
  ObjectMeta metadata;
  CStorVolumeConfigSpec spec;
  CStorVolumeConfigPublish publish;  // top level, beside spec
  CStorVolumeConfigStatus status;
  nlohmann::json raw;
};

// ---- CStorVolume (cv): the target's view of a volume, owned by its CVC -------------------

namespace cv_phase {
inline constexpr std::string_view kInit = "Init";
inline constexpr std::string_view kHealthy = "Healthy";
inline constexpr std::string_view kDegraded = "Degraded";
inline constexpr std::string_view kOffline = "Offline";
inline constexpr std::string_view kError = "Error";
inline constexpr std::string_view kInvalid = "Invalid";
}  // namespace cv_phase

namespace cv_condition {
inline constexpr std::string_view kResizing = "Resizing";
// Ours, not cStor's: True while a quorum of replicas is healthy, so IO is served.
inline constexpr std::string_view kReady = "Ready";
}  // namespace cv_condition

struct ReplicaDetails {
  std::map<std::string, std::string> known_replicas;  // replica id -> replica guid
  nlohmann::json raw;
};

struct CStorVolumeSpec {
  std::string capacity;
  std::string target_ip;
  std::string target_port;  // a string in cStor ("3260")
  std::string iqn;          // iqn.2016-09.com.openebs.cstor:<pv>
  std::string target_portal;  // <service ip>:3260
  int replication_factor = 0;
  int consistency_factor = 0;  // replication_factor / 2 + 1
  int desired_replication_factor = 0;
  ReplicaDetails replica_details;
  nlohmann::json raw;
};

// The target's report on one replica. cStor sends the counters as strings.
struct ReplicaStatus {
  std::string replica_id;
  std::string mode;
  std::string checkpointed_io_seq;
  std::string inflight_read;
  std::string inflight_write;
  std::string inflight_sync;
  int64_t up_time = 0;
  std::string quorum;
  nlohmann::json raw;
};

struct CStorVolumeStatus {
  std::string phase;  // a cv_phase
  std::vector<ReplicaStatus> replica_statuses;
  std::string capacity;
  std::string last_transition_time;
  std::string last_update_time;
  std::string message;
  ReplicaDetails replica_details;
  std::vector<Condition> conditions;
  nlohmann::json raw;
};

struct CStorVolume {
  static constexpr ResourceType kType{kCStorGroup, "v1", "CStorVolume", "cstorvolumes", true};
  ObjectMeta metadata;
  CStorVolumeSpec spec;
  CStorVolumeStatus status;
  nlohmann::json raw;
};

// ---- CStorVolumeReplica (cvr): one copy of a volume on one pool, owned by its CV ---------

namespace cvr_phase {
inline constexpr std::string_view kInit = "Init";
inline constexpr std::string_view kHealthy = "Healthy";
inline constexpr std::string_view kOffline = "Offline";
inline constexpr std::string_view kDegraded = "Degraded";
inline constexpr std::string_view kNewReplicaDegraded = "NewReplicaDegraded";
inline constexpr std::string_view kRebuilding = "Rebuilding";
inline constexpr std::string_view kReconstructingNewReplica = "ReconstructingNewReplica";
inline constexpr std::string_view kError = "Error";
inline constexpr std::string_view kDeletionFailed = "DeletionFailed";
inline constexpr std::string_view kInvalid = "Invalid";
inline constexpr std::string_view kRecreate = "Recreate";
}  // namespace cvr_phase

struct CStorVolumeReplicaSpec {
  std::string target_ip;
  std::string capacity;
  std::string zvol_workers;
  std::string replica_id;  // JSON "replicaid"
  std::string compression;
  uint32_t block_size = 0;
  nlohmann::json raw;
};

struct ReplicaCapacity {
  std::string total;
  std::string used;
  nlohmann::json raw;
};

struct SnapshotInfo {
  uint64_t logical_referenced = 0;  // bytes
  nlohmann::json raw;
};

struct CStorVolumeReplicaStatus {
  std::string phase;  // a cvr_phase
  ReplicaCapacity capacity;
  std::string last_transition_time;
  std::string last_update_time;
  std::string message;
  std::map<std::string, SnapshotInfo> snapshots;  // by snapshot name
  std::map<std::string, SnapshotInfo> pending_snapshots;
  nlohmann::json raw;
};

struct CStorVolumeReplica {
  static constexpr ResourceType kType{kCStorGroup, "v1", "CStorVolumeReplica",
                                      "cstorvolumereplicas", true};
  ObjectMeta metadata;
  CStorVolumeReplicaSpec spec;
  CStorVolumeReplicaStatus status;
  nlohmann::json raw;
};

// ---- CStorVolumeAttachment (cva): a volume staged on a node; name <pv>-<nodeId> ---------

namespace cva_status {
inline constexpr std::string_view kMountUnderProgress = "MountUnderProgress";
inline constexpr std::string_view kMounted = "Mounted";
inline constexpr std::string_view kUnmounted = "Unmounted";
inline constexpr std::string_view kRaw = "Raw";
inline constexpr std::string_view kResizeInProgress = "ResizeInProgress";
inline constexpr std::string_view kMountFailed = "MountFailed";
inline constexpr std::string_view kUnmountUnderProgress = "UnmountUnderProgress";
}  // namespace cva_status

struct AttachedVolume {
  std::string name;
  std::string capacity;
  std::string owner_node_id;  // JSON "ownerNodeID"
  std::string fs_type;
  std::vector<std::string> access_modes;
  std::string access_type;
  std::string staging_target_path;
  std::string target_path;
  bool read_only = false;
  std::vector<std::string> mount_options;
  std::string device_path;
  nlohmann::json raw;
};

struct IscsiInfo {
  std::string iqn;
  std::string target_portal;
  std::string iscsi_interface;
  std::string lun;
  nlohmann::json raw;
};

struct CStorVolumeAttachmentSpec {
  AttachedVolume volume;
  IscsiInfo iscsi;
  nlohmann::json raw;
};

struct CStorVolumeAttachment {
  static constexpr ResourceType kType{kCStorGroup, "v1", "CStorVolumeAttachment",
                                      "cstorvolumeattachments", true};
  ObjectMeta metadata;
  CStorVolumeAttachmentSpec spec;
  std::string status;  // a cva_status; a plain string in cStor
  nlohmann::json raw;
};

// ---- JSON conversions (found by nlohmann::json through ADL) ------------------------------

CSTOR_API_JSON_DECLARE(PoolBlockDevice);
CSTOR_API_JSON_DECLARE(RaidGroup);
CSTOR_API_JSON_DECLARE(PoolConfig);
CSTOR_API_JSON_DECLARE(PoolSpec);
CSTOR_API_JSON_DECLARE(CStorPoolClusterSpec);
CSTOR_API_JSON_DECLARE(CStorPoolClusterStatus);
CSTOR_API_JSON_DECLARE(CStorPoolCluster);
CSTOR_API_JSON_DECLARE(CStorPoolInstanceSpec);
CSTOR_API_JSON_DECLARE(ZfsCapacity);
CSTOR_API_JSON_DECLARE(PoolCapacity);
CSTOR_API_JSON_DECLARE(CStorPoolInstanceStatus);
CSTOR_API_JSON_DECLARE(CStorPoolInstance);
CSTOR_API_JSON_DECLARE(PolicyProvision);
CSTOR_API_JSON_DECLARE(PolicyTarget);
CSTOR_API_JSON_DECLARE(PolicyReplica);
CSTOR_API_JSON_DECLARE(ReplicaPoolInfo);
CSTOR_API_JSON_DECLARE(CStorVolumePolicySpec);
CSTOR_API_JSON_DECLARE(CStorVolumePolicyStatus);
CSTOR_API_JSON_DECLARE(CStorVolumePolicy);
CSTOR_API_JSON_DECLARE(VolumeProvision);
CSTOR_API_JSON_DECLARE(CStorVolumeConfigSpec);
CSTOR_API_JSON_DECLARE(CStorVolumeConfigPublish);
CSTOR_API_JSON_DECLARE(CStorVolumeConfigStatus);
CSTOR_API_JSON_DECLARE(CStorVolumeConfig);
CSTOR_API_JSON_DECLARE(ReplicaDetails);
CSTOR_API_JSON_DECLARE(CStorVolumeSpec);
CSTOR_API_JSON_DECLARE(ReplicaStatus);
CSTOR_API_JSON_DECLARE(CStorVolumeStatus);
CSTOR_API_JSON_DECLARE(CStorVolume);
CSTOR_API_JSON_DECLARE(CStorVolumeReplicaSpec);
CSTOR_API_JSON_DECLARE(ReplicaCapacity);
CSTOR_API_JSON_DECLARE(SnapshotInfo);
CSTOR_API_JSON_DECLARE(CStorVolumeReplicaStatus);
CSTOR_API_JSON_DECLARE(CStorVolumeReplica);
CSTOR_API_JSON_DECLARE(AttachedVolume);
CSTOR_API_JSON_DECLARE(IscsiInfo);
CSTOR_API_JSON_DECLARE(CStorVolumeAttachmentSpec);
CSTOR_API_JSON_DECLARE(CStorVolumeAttachment);

}  // namespace cstor::api
