#include "apiserver/protobuf.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "apiserver/table.h"
#include "apiserver/tls.h"

namespace cstor::apiserver {
namespace {

using nlohmann::json;

enum class T {
  kString, kBytes, kInt, kBool, kMessage, kTime, kIntOrString, kQuantity, kIgnore,
  kMapString, kMapBytes, kMapQuantity,
};

struct Message;
struct Field {
  uint32_t number;
  const char* name;
  T type;
  bool repeated = false;
  const Message* message = nullptr;
  // A pointer in the Go type: sent only when set, so a zero is a value. Other scalars
  // are always sent, and a zero one means absent (what JSON's omitempty leaves out).
  bool pointer = false;
};
struct Message {
  const char* name;
  std::vector<Field> fields;
  // Server-owned parts (a status on create): fields not listed are skipped, not refused.
  bool lenient = false;
};
constexpr bool kPointer = true;

// The messages, with Kubernetes' field numbers (k8s.io/api and apimachinery generated.proto).
extern const Message kObjectMeta, kOwnerReference, kLabelSelector, kLabelSelectorRequirement,
    kNamespace, kNamespaceSpec, kNamespaceStatus, kConfigMap, kSecret, kServiceAccount,
    kObjectReference, kLocalObjectReference, kService, kServiceSpec, kServicePort, kServiceStatus,
    kDeployment, kDeploymentSpec, kDeploymentStrategy, kRollingUpdateDeployment, kDeploymentStatus,
    kPodTemplateSpec, kPodSpec, kContainer, kContainerPort, kEnvVar, kResourceRequirements,
    kVolumeMount, kVolume, kVolumeSource, kHostPath, kEmptyDir, kSecretVolume, kConfigMapVolume,
    kPvcVolume, kKeyToPath, kRole, kPolicyRule, kRoleBinding, kSubject, kRoleRef;

const Message kObjectMeta{"ObjectMeta", {
    {1, "name", T::kString}, {2, "generateName", T::kString}, {3, "namespace", T::kString},
    {5, "uid", T::kString}, {6, "resourceVersion", T::kString}, {7, "generation", T::kInt},
    {4, "selfLink", T::kString}, {8, "creationTimestamp", T::kTime}, {9, "deletionTimestamp", T::kTime},
    {10, "deletionGracePeriodSeconds", T::kInt, false, nullptr, kPointer}, {17, "managedFields", T::kIgnore}, {11, "labels", T::kMapString}, {12, "annotations", T::kMapString},
    {13, "ownerReferences", T::kMessage, true, &kOwnerReference}, {14, "finalizers", T::kString, true}}};
const Message kOwnerReference{"OwnerReference", {
    {5, "apiVersion", T::kString}, {1, "kind", T::kString}, {3, "name", T::kString}, {4, "uid", T::kString},
    {6, "controller", T::kBool, false, nullptr, kPointer}, {7, "blockOwnerDeletion", T::kBool, false, nullptr, kPointer}}};
const Message kLabelSelector{"LabelSelector", {
    {1, "matchLabels", T::kMapString}, {2, "matchExpressions", T::kMessage, true, &kLabelSelectorRequirement}}};
const Message kLabelSelectorRequirement{"LabelSelectorRequirement", {
    {1, "key", T::kString}, {2, "operator", T::kString}, {3, "values", T::kString, true}}};
const Message kNamespace{"Namespace", {
    {1, "metadata", T::kMessage, false, &kObjectMeta}, {2, "spec", T::kMessage, false, &kNamespaceSpec},
    {3, "status", T::kMessage, false, &kNamespaceStatus}}};
const Message kNamespaceSpec{"NamespaceSpec", {{1, "finalizers", T::kString, true}}};
const Message kNamespaceStatus{"NamespaceStatus", {{1, "phase", T::kString}}, true};
const Message kConfigMap{"ConfigMap", {
    {1, "metadata", T::kMessage, false, &kObjectMeta}, {4, "immutable", T::kBool, false, nullptr, kPointer},
    {2, "data", T::kMapString}, {3, "binaryData", T::kMapBytes}}};
const Message kSecret{"Secret", {
    {1, "metadata", T::kMessage, false, &kObjectMeta}, {5, "immutable", T::kBool, false, nullptr, kPointer}, {2, "data", T::kMapBytes},
    {4, "stringData", T::kMapString}, {3, "type", T::kString}}};
const Message kServiceAccount{"ServiceAccount", {
    {1, "metadata", T::kMessage, false, &kObjectMeta}, {2, "secrets", T::kMessage, true, &kObjectReference},
    {3, "imagePullSecrets", T::kMessage, true, &kLocalObjectReference},
    {4, "automountServiceAccountToken", T::kBool, false, nullptr, kPointer}}};
const Message kObjectReference{"ObjectReference", {
    {1, "kind", T::kString}, {2, "namespace", T::kString}, {3, "name", T::kString}, {4, "uid", T::kString},
    {5, "apiVersion", T::kString}, {6, "resourceVersion", T::kString}, {7, "fieldPath", T::kString}}};
const Message kLocalObjectReference{"LocalObjectReference", {{1, "name", T::kString}}};
const Message kService{"Service", {
    {1, "metadata", T::kMessage, false, &kObjectMeta}, {2, "spec", T::kMessage, false, &kServiceSpec},
    {3, "status", T::kMessage, false, &kServiceStatus}}};
const Message kServiceSpec{"ServiceSpec", {
    {1, "ports", T::kMessage, true, &kServicePort}, {2, "selector", T::kMapString}, {3, "clusterIP", T::kString},
    {18, "clusterIPs", T::kString, true}, {4, "type", T::kString}, {5, "externalIPs", T::kString, true},
    {7, "sessionAffinity", T::kString}, {8, "loadBalancerIP", T::kString}, {10, "externalName", T::kString},
    {11, "externalTrafficPolicy", T::kString}, {12, "healthCheckNodePort", T::kInt},
    {13, "publishNotReadyAddresses", T::kBool}, {19, "ipFamilies", T::kString, true},
    {17, "ipFamilyPolicy", T::kString, false, nullptr, kPointer},
    {22, "internalTrafficPolicy", T::kString, false, nullptr, kPointer}}};
const Message kServicePort{"ServicePort", {
    {1, "name", T::kString}, {2, "protocol", T::kString}, {6, "appProtocol", T::kString, false, nullptr, kPointer}, {3, "port", T::kInt},
    {4, "targetPort", T::kIntOrString}, {5, "nodePort", T::kInt}}};
const Message kServiceStatus{"ServiceStatus", {}, true};
const Message kDeployment{"Deployment", {
    {1, "metadata", T::kMessage, false, &kObjectMeta}, {2, "spec", T::kMessage, false, &kDeploymentSpec},
    {3, "status", T::kMessage, false, &kDeploymentStatus}}};
const Message kDeploymentSpec{"DeploymentSpec", {
    {1, "replicas", T::kInt, false, nullptr, kPointer}, {2, "selector", T::kMessage, false, &kLabelSelector},
    {3, "template", T::kMessage, false, &kPodTemplateSpec}, {4, "strategy", T::kMessage, false, &kDeploymentStrategy},
    {5, "minReadySeconds", T::kInt}, {6, "revisionHistoryLimit", T::kInt, false, nullptr, kPointer}, {7, "paused", T::kBool},
    {9, "progressDeadlineSeconds", T::kInt, false, nullptr, kPointer}}};
const Message kDeploymentStrategy{"DeploymentStrategy", {
    {1, "type", T::kString}, {2, "rollingUpdate", T::kMessage, false, &kRollingUpdateDeployment}}};
const Message kRollingUpdateDeployment{"RollingUpdateDeployment", {
    {1, "maxUnavailable", T::kIntOrString, false, nullptr, kPointer},
    {2, "maxSurge", T::kIntOrString, false, nullptr, kPointer}}};
const Message kDeploymentStatus{"DeploymentStatus", {}, true};
const Message kPodTemplateSpec{"PodTemplateSpec", {
    {1, "metadata", T::kMessage, false, &kObjectMeta}, {2, "spec", T::kMessage, false, &kPodSpec}}};
const Message kPodSpec{"PodSpec", {
    {1, "volumes", T::kMessage, true, &kVolume}, {20, "initContainers", T::kMessage, true, &kContainer},
    {2, "containers", T::kMessage, true, &kContainer}, {3, "restartPolicy", T::kString},
    {4, "terminationGracePeriodSeconds", T::kInt, false, nullptr, kPointer}, {6, "dnsPolicy", T::kString},
    {7, "nodeSelector", T::kMapString}, {8, "serviceAccountName", T::kString}, {9, "serviceAccount", T::kString}, {10, "nodeName", T::kString},
    {12, "hostPID", T::kBool}, {13, "hostIPC", T::kBool}, {16, "hostname", T::kString}, {17, "subdomain", T::kString},
    {24, "priorityClassName", T::kString}, {5, "activeDeadlineSeconds", T::kInt, false, nullptr, kPointer},
    {11, "hostNetwork", T::kBool}, {15, "imagePullSecrets", T::kMessage, true, &kLocalObjectReference},
    {19, "schedulerName", T::kString}, {30, "enableServiceLinks", T::kBool, false, nullptr, kPointer}}};
const Message kContainer{"Container", {
    {1, "name", T::kString}, {2, "image", T::kString}, {3, "command", T::kString, true},
    {4, "args", T::kString, true}, {5, "workingDir", T::kString}, {6, "ports", T::kMessage, true, &kContainerPort},
    {7, "env", T::kMessage, true, &kEnvVar}, {8, "resources", T::kMessage, false, &kResourceRequirements},
    {9, "volumeMounts", T::kMessage, true, &kVolumeMount}, {13, "terminationMessagePath", T::kString},
    {20, "terminationMessagePolicy", T::kString}, {14, "imagePullPolicy", T::kString},
    {16, "stdin", T::kBool}, {17, "stdinOnce", T::kBool}, {18, "tty", T::kBool}}};
const Message kContainerPort{"ContainerPort", {
    {1, "name", T::kString}, {2, "hostPort", T::kInt}, {3, "containerPort", T::kInt}, {4, "protocol", T::kString},
    {5, "hostIP", T::kString}}};
const Message kEnvVar{"EnvVar", {{1, "name", T::kString}, {2, "value", T::kString}}};
const Message kResourceRequirements{"ResourceRequirements", {
    {1, "limits", T::kMapQuantity}, {2, "requests", T::kMapQuantity}}};
const Message kVolumeMount{"VolumeMount", {
    {1, "name", T::kString}, {2, "readOnly", T::kBool}, {3, "mountPath", T::kString}, {4, "subPath", T::kString},
    {6, "subPathExpr", T::kString}}};
const Message kVolume{"Volume", {{1, "name", T::kString}, {2, "", T::kMessage, false, &kVolumeSource}}};
const Message kVolumeSource{"VolumeSource", {
    {1, "hostPath", T::kMessage, false, &kHostPath}, {2, "emptyDir", T::kMessage, false, &kEmptyDir},
    {6, "secret", T::kMessage, false, &kSecretVolume}, {10, "persistentVolumeClaim", T::kMessage, false, &kPvcVolume},
    {19, "configMap", T::kMessage, false, &kConfigMapVolume}}};
const Message kHostPath{"HostPathVolumeSource", {{1, "path", T::kString}, {2, "type", T::kString}}};
const Message kEmptyDir{"EmptyDirVolumeSource", {{1, "medium", T::kString}, {2, "sizeLimit", T::kQuantity}}};
const Message kSecretVolume{"SecretVolumeSource", {
    {1, "secretName", T::kString}, {2, "items", T::kMessage, true, &kKeyToPath}, {3, "defaultMode", T::kInt, false, nullptr, kPointer},
    {4, "optional", T::kBool, false, nullptr, kPointer}}};
const Message kConfigMapVolume{"ConfigMapVolumeSource", {
    {1, "", T::kMessage, false, &kLocalObjectReference}, {2, "items", T::kMessage, true, &kKeyToPath},
    {3, "defaultMode", T::kInt, false, nullptr, kPointer}, {4, "optional", T::kBool, false, nullptr, kPointer}}};
const Message kPvcVolume{"PersistentVolumeClaimVolumeSource", {{1, "claimName", T::kString}, {2, "readOnly", T::kBool}}};
const Message kKeyToPath{"KeyToPath", {{1, "key", T::kString}, {2, "path", T::kString}, {3, "mode", T::kInt, false, nullptr, kPointer}}};
const Message kRole{"Role", {{1, "metadata", T::kMessage, false, &kObjectMeta}, {2, "rules", T::kMessage, true, &kPolicyRule}}};
const Message kPolicyRule{"PolicyRule", {
    {1, "verbs", T::kString, true}, {2, "apiGroups", T::kString, true}, {3, "resources", T::kString, true},
    {4, "resourceNames", T::kString, true}, {5, "nonResourceURLs", T::kString, true}}};
const Message kRoleBinding{"RoleBinding", {
    {1, "metadata", T::kMessage, false, &kObjectMeta}, {2, "subjects", T::kMessage, true, &kSubject},
    {3, "roleRef", T::kMessage, false, &kRoleRef}}};
const Message kSubject{"Subject", {
    {1, "kind", T::kString}, {2, "apiGroup", T::kString}, {3, "name", T::kString}, {4, "namespace", T::kString}}};
const Message kRoleRef{"RoleRef", {{1, "apiGroup", T::kString}, {2, "kind", T::kString}, {3, "name", T::kString}}};

const std::map<std::string, const Message*>& Kinds() {
  static const std::map<std::string, const Message*> kinds = {
      {"v1/Namespace", &kNamespace}, {"v1/ConfigMap", &kConfigMap}, {"v1/Secret", &kSecret},
      {"v1/ServiceAccount", &kServiceAccount}, {"v1/Service", &kService},
      {"apps/v1/Deployment", &kDeployment},
      {"rbac.authorization.k8s.io/v1/Role", &kRole}, {"rbac.authorization.k8s.io/v1/ClusterRole", &kRole},
      {"rbac.authorization.k8s.io/v1/RoleBinding", &kRoleBinding},
      {"rbac.authorization.k8s.io/v1/ClusterRoleBinding", &kRoleBinding}};
  return kinds;
}

struct Malformed : std::exception {
  std::string message;
  bool unsupported = false;
  Malformed(std::string m, bool u = false) : message(std::move(m)), unsupported(u) {}
};

// The protobuf wire format: a key (field number, wire type) then the value.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool Done() const { return pos_ >= data_.size(); }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) throw Malformed("truncated varint");
      const uint8_t b = static_cast<uint8_t>(data_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    throw Malformed("varint too long");
  }
  std::string_view Bytes() {
    const uint64_t n = Varint();
    if (n > data_.size() - pos_) throw Malformed("truncated field");
    std::string_view out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  void Skip(uint32_t wire) {
    if (wire == 0) Varint();
    else if (wire == 2) Bytes();
    else if (wire == 1 && data_.size() - pos_ >= 8) pos_ += 8;
    else if (wire == 5 && data_.size() - pos_ >= 4) pos_ += 4;
    else throw Malformed("unknown or truncated wire type " + std::to_string(wire));
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// `creating`: the body of a create, whose status the server resets anyway; only then may
// a lenient (server-owned) message skip fields it does not know.
json DecodeMessage(std::string_view data, const Message& m, bool creating);

// A map entry: key (1) and value (2).
std::pair<std::string, std::string_view> Entry(std::string_view data) {
  Reader r(data);
  std::string key;
  std::string_view value;
  while (!r.Done()) {
    const uint64_t k = r.Varint();
    const uint32_t number = static_cast<uint32_t>(k >> 3), wire = static_cast<uint32_t>(k & 7);
    if (wire != 2) throw Malformed("a map entry's key and value must be length-delimited");
    if (number == 1) key = std::string(r.Bytes());
    else if (number == 2) value = r.Bytes();
    else r.Skip(wire);
  }
  return {key, value};
}

std::string QuantityText(std::string_view data) {
  Reader r(data);
  std::string out;
  while (!r.Done()) {
    const uint64_t k = r.Varint();
    if ((k >> 3) == 1 && (k & 7) == 2) out = std::string(r.Bytes());
    else r.Skip(static_cast<uint32_t>(k & 7));
  }
  return out;
}

json Value(const Field& f, Reader& r, uint32_t wire, json& out, bool creating) {
  auto need = [&](uint32_t w) {
    if (wire != w) throw Malformed(fmt::format("field {} has wire type {}, expected {}", f.name, wire, w));
  };
  switch (f.type) {
    case T::kString: need(2); return std::string(r.Bytes());
    case T::kBytes: need(2); return Base64Encode(r.Bytes());
    case T::kInt: need(0); return static_cast<int64_t>(r.Varint());
    case T::kBool: need(0); return r.Varint() != 0;
    case T::kMessage: need(2); return DecodeMessage(r.Bytes(), *f.message, creating);
    case T::kIgnore: r.Skip(wire); return nullptr;
    case T::kQuantity: need(2); return QuantityText(r.Bytes());
    case T::kTime: {
      need(2);
      Reader t(r.Bytes());
      int64_t seconds = 0;
      while (!t.Done()) {
        const uint64_t k = t.Varint();
        if ((k >> 3) == 1 && (k & 7) == 0) seconds = static_cast<int64_t>(t.Varint());
        else t.Skip(static_cast<uint32_t>(k & 7));
      }
      return FormatTimestamp(std::chrono::system_clock::time_point(std::chrono::seconds(seconds)));
    }
    case T::kIntOrString: {
      need(2);
      Reader t(r.Bytes());
      int64_t type = 0, int_val = 0;
      std::string str_val;
      while (!t.Done()) {
        const uint64_t k = t.Varint();
        const uint32_t n = static_cast<uint32_t>(k >> 3), w = static_cast<uint32_t>(k & 7);
        if (n == 1 && w == 0) type = static_cast<int64_t>(t.Varint());
        else if (n == 2 && w == 0) int_val = static_cast<int32_t>(t.Varint());
        else if (n == 3 && w == 2) str_val = std::string(t.Bytes());
        else t.Skip(w);
      }
      return type == 1 ? json(str_val) : json(int_val);
    }
    case T::kMapString: case T::kMapBytes: case T::kMapQuantity: {
      need(2);
      auto [key, value] = Entry(r.Bytes());
      json& map = out[f.name];
      if (!map.is_object()) map = json::object();
      map[key] = f.type == T::kMapString ? json(std::string(value))
               : f.type == T::kMapBytes  ? json(Base64Encode(value))
                                         : json(QuantityText(value));
      return nullptr;  // stored in place
    }
  }
  return nullptr;
}

json DecodeMessage(std::string_view data, const Message& m, bool creating) {
  json out = json::object();
  Reader r(data);
  while (!r.Done()) {
    const uint64_t key = r.Varint();
    const uint32_t number = static_cast<uint32_t>(key >> 3), wire = static_cast<uint32_t>(key & 7);
    const Field* f = nullptr;
    for (const Field& candidate : m.fields) {
      if (candidate.number == number) f = &candidate;
    }
    if (f == nullptr && m.lenient && creating) {
      r.Skip(wire);
      continue;
    }
    if (f == nullptr) {
      // Dropping it would store less than the client sent.
      throw Malformed(fmt::format("field {} of {} is not decoded from protobuf by this server", number, m.name), true);
    }
    json v = Value(*f, r, wire, out, creating);
    if (v.is_null()) continue;  // a map entry (stored in place) or an ignored field
    const bool zero = (v.is_string() && v.get_ref<const std::string&>().empty()) ||
                      (v.is_number_integer() && v.get<int64_t>() == 0) || (v.is_boolean() && !v.get<bool>()) ||
                      (f->type == T::kTime && v == "1970-01-01T00:00:00Z");
    if (zero && !f->pointer && !f->repeated) continue;
    if (f->name[0] == '\0') {  // an inlined message (Volume's source, a reference's name)
      for (auto& [k, x] : v.items()) out[k] = x;
    } else if (f->repeated) {
      out[f->name].push_back(std::move(v));
    } else {
      out[f->name] = std::move(v);
    }
  }
  return out;
}

}  // namespace

Result<nlohmann::json> DecodeKubernetesProtobuf(std::string_view body, bool creating) {
  static constexpr std::string_view kMagic("k8s\0", 4);
  if (!body.starts_with(kMagic)) return Status::InvalidArgument("the protobuf body does not start with the \"k8s\\0\" prefix");
  try {
    Reader envelope(body.substr(kMagic.size()));
    std::string api_version, kind;
    std::string_view raw;
    while (!envelope.Done()) {
      const uint64_t key = envelope.Varint();
      const uint32_t number = static_cast<uint32_t>(key >> 3), wire = static_cast<uint32_t>(key & 7);
      if (number == 1 && wire == 2) {
        Reader type_meta(envelope.Bytes());
        while (!type_meta.Done()) {
          const uint64_t k = type_meta.Varint();
          if ((k >> 3) == 1 && (k & 7) == 2) api_version = std::string(type_meta.Bytes());
          else if ((k >> 3) == 2 && (k & 7) == 2) kind = std::string(type_meta.Bytes());
          else type_meta.Skip(static_cast<uint32_t>(k & 7));
        }
      } else if (number == 2 && wire == 2) {
        raw = envelope.Bytes();
      } else {
        envelope.Skip(wire);
      }
    }
    auto it = Kinds().find(api_version + "/" + kind);
    if (it == Kinds().end()) {
      return Status::FailedPrecondition(fmt::format("{} {} is not decoded from protobuf by this server; send JSON",
                                                    api_version, kind));
    }
    json obj = DecodeMessage(raw, *it->second, creating);
    obj["apiVersion"] = api_version;
    obj["kind"] = kind;
    return obj;
  } catch (const Malformed& e) {
    if (e.unsupported) return Status::FailedPrecondition(e.message);
    return Status::InvalidArgument("malformed protobuf body: " + e.message);
  }
}

}  // namespace cstor::apiserver
