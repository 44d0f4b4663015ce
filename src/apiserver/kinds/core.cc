// The core group (v1): Namespace, Node, Service, Endpoints, Pod, Event, Secret,
// ConfigMap, ServiceAccount, PersistentVolume, PersistentVolumeClaim.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "api/quantity.h"
#include "apiserver/kinds/helpers.h"
#include "apiserver/kinds/kinds.h"
#include "apiserver/table.h"
#include "apiserver/tls.h"
#include "apiserver/validation.h"

namespace cstor::apiserver::kinds {
namespace {

std::string Count(const json& object, const char* field) {
  const json* v = Find(object, {field});
  return std::to_string(v && (v->is_object() || v->is_array()) ? v->size() : 0);
}

// ------------------------------------------------------------------------ Namespace, Node

class NamespaceStrategy : public Strategy {
 public:
  bool NameIsDnsLabel() const override { return true; }
  void PrepareForCreate(json& o) const override {
    Default(o, {"spec", "finalizers"}, json::array({"kubernetes"}));
    o["status"] = {{"phase", "Active"}};
  }
  void PrepareForUpdate(const json&, json& next) const override {
    Default(next, {"spec", "finalizers"}, json::array({"kubernetes"}));
  }
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {
        {"Status", "string", "The phase of the namespace.", 0,
         [](const json& o) -> json { return StringAt(o, {"status", "phase"}); }},
        AgeColumn()};
    return kColumns;
  }
};

class NodeStrategy : public Strategy {
 public:
  const MergeSchema& Merges() const override {
    static const MergeSchema kMerges =
        MergeSchema().WithObjectMeta().Merge("status.conditions", "type").Merge("status.addresses", "type");
    return kMerges;
  }
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {
        {"Status", "string", "The node's readiness.", 0,
         [](const json& o) -> json {
           std::string status = "Unknown";
                      for (const json& c : ArrayAt(o, {"status", "conditions"})) {
             if (c.value("type", "") == "Ready") status = c.value("status", "") == "True" ? "Ready" : "NotReady";
           }
           if (const json* u = Find(o, {"spec", "unschedulable"}); u && *u == true) status += ",SchedulingDisabled";
           return status;
         }},
        {"Roles", "string", "The node's roles.", 0,
         [](const json& o) -> json {
           std::string roles;
                      for (const auto& [k, v] : ObjectAt(o, {"metadata", "labels"}).items()) {
             if (k.starts_with("node-role.kubernetes.io/")) roles += (roles.empty() ? "" : ",") + k.substr(24);
           }
           return Or(roles, "<none>");
         }},
        AgeColumn(),
        {"Version", "string", "The kubelet's version.", 0,
         [](const json& o) -> json { return StringAt(o, {"status", "nodeInfo", "kubeletVersion"}); }},
        {"Internal-IP", "string", "The node's internal address.", 1,
         [](const json& o) -> json {
                      for (const json& a : ArrayAt(o, {"status", "addresses"})) {
             if (a.value("type", "") == "InternalIP") return a.value("address", "");
           }
           return "<none>";
         }}};
    return kColumns;
  }
};

// ------------------------------------------------------------------- Service, Endpoints

class ServiceStrategy : public Strategy {
 public:
  const MergeSchema& Merges() const override {
    static const MergeSchema kMerges = MergeSchema().WithObjectMeta().Merge("spec.ports", "port");
    return kMerges;
  }
  bool NameIsDnsLabel() const override { return true; }
  void PrepareForCreate(json& o) const override { Defaults(o); }
  void PrepareForUpdate(const json& old, json& next) const override {
    // A client that omits the allocated address (kubectl replace, a PUT of a manifest)
    // keeps it, as on a real server.
    for (const char* field : {"clusterIP", "clusterIPs"}) {
      const json* now = Find(next, {"spec", field});
      const bool empty = !now || (now->is_string() && now->get_ref<const std::string&>().empty()) ||
                         (now->is_array() && now->empty());
      if (empty && Find(old, {"spec", field}) && next["spec"].is_object()) next["spec"][field] = old["spec"][field];
    }
    Defaults(next);
  }
  const json* TypeSchema() const override {
    static const json kSchema = Object({{"spec", Object({
        {"type", String()}, {"clusterIP", String()}, {"clusterIPs", ArrayOf(String())},
        {"selector", MapOf(String())}, {"sessionAffinity", String()},
        {"ports", ArrayOf(Object({{"name", String()}, {"port", Integer()}, {"protocol", String()},
                                  {"targetPort", IntOrString()}, {"nodePort", Integer()}}))}})}});
    return &kSchema;
  }
  std::vector<FieldError> Validate(const json& o) const override {
    std::vector<FieldError> errors;
    const std::string name = StringAt(o, {"metadata", "name"});
    if (!name.empty() && !(name[0] >= 'a' && name[0] <= 'z')) {
      errors.push_back(InvalidValue("metadata.name", name,
                                    "a DNS-1035 label must start with a lower case letter"));
    }
    const std::string type = StringAt(o, {"spec", "type"});
    if (type != "ClusterIP" && type != "NodePort" && type != "LoadBalancer" && type != "ExternalName") {
      errors.push_back(NotSupported("spec.type", type, {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"}));
    }
    const json* ports = Find(o, {"spec", "ports"});
    const bool headless = StringAt(o, {"spec", "clusterIP"}) == "None";
    if ((!ports || ports->empty()) && !headless && type != "ExternalName") {
      errors.push_back(Required("spec.ports"));
    }
    std::set<std::string> names, keys;
    for (size_t i = 0; ports && i < ports->size(); ++i) {
      const json& p = (*ports)[i];
      const std::string at = fmt::format("spec.ports[{}]", i);
      const std::string pname = p.value("name", "");
      if (ports->size() > 1 && pname.empty()) errors.push_back(Required(at + ".name"));
      if (!pname.empty() && !names.insert(pname).second) errors.push_back(Duplicate(at + ".name", pname));
      const int64_t port = p.value("port", int64_t{0});
      if (port < 1 || port > 65535) {
        errors.push_back(InvalidValue(at + ".port", port, "must be between 1 and 65535, inclusive"));
      }
      const std::string proto = p.value("protocol", "TCP");
      if (proto != "TCP" && proto != "UDP" && proto != "SCTP") {
        errors.push_back(NotSupported(at + ".protocol", proto, {"SCTP", "TCP", "UDP"}));
      }
      if (!keys.insert(fmt::format("{}/{}", port, proto)).second) {
        errors.push_back(Duplicate(at, json{{"port", port}, {"protocol", proto}}));
      }
    }
    const std::string affinity = StringAt(o, {"spec", "sessionAffinity"});
    if (affinity != "None" && affinity != "ClientIP") {
      errors.push_back(NotSupported("spec.sessionAffinity", affinity, {"ClientIP", "None"}));
    }
    return errors;
  }
  std::vector<FieldError> ValidateUpdate(const json& old, const json& next) const override {
    const json* before = Find(old, {"spec", "clusterIP"});
    const json* after = Find(next, {"spec", "clusterIP"});
    if (before && after && *before != *after) return {Immutable("spec.clusterIP", *after)};
    return {};
  }
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {
        {"Type", "string", "The type of the service.", 0,
         [](const json& o) -> json { return StringAt(o, {"spec", "type"}); }},
        {"Cluster-IP", "string", "The service's address inside the cluster.", 0,
         [](const json& o) -> json { return Or(StringAt(o, {"spec", "clusterIP"}), "<none>"); }},
        {"External-IP", "string", "Addresses outside the cluster.", 0,
         [](const json& o) -> json {
           std::string ips;
                      for (const json& ip : ArrayAt(o, {"spec", "externalIPs"})) {
             if (ip.is_string()) ips += (ips.empty() ? "" : ",") + ip.get<std::string>();
           }
           return Or(ips, StringAt(o, {"spec", "type"}) == "LoadBalancer" ? "<pending>" : "<none>");
         }},
        {"Port(s)", "string", "The service's ports.", 0,
         [](const json& o) -> json {
           std::string out;
                      for (const json& p : ArrayAt(o, {"spec", "ports"})) {
             std::string one = std::to_string(p.value("port", 0));
             if (p.contains("nodePort")) one += ":" + std::to_string(p.value("nodePort", 0));
             out += (out.empty() ? "" : ",") + one + "/" + p.value("protocol", "TCP");
           }
           return Or(out, "<none>");
         }},
        AgeColumn(),
        {"Selector", "string", "The labels of the pods the service sends to.", 1,
         [](const json& o) -> json {
           std::string out;
                      for (const auto& [k, v] : ObjectAt(o, {"spec", "selector"}).items()) {
             out += (out.empty() ? "" : ",") + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
           }
           return Or(out, "<none>");
         }}};
    return kColumns;
  }

 private:
  static void Defaults(json& o) {
    Default(o, {"spec", "type"}, "ClusterIP");
    Default(o, {"spec", "sessionAffinity"}, "None");
    json& spec = o["spec"];
    if (spec.value("type", "") != "ExternalName") {
      Default(o, {"spec", "internalTrafficPolicy"}, "Cluster");
      Default(o, {"spec", "ipFamilies"}, json::array({"IPv4"}));
      Default(o, {"spec", "ipFamilyPolicy"}, "SingleStack");
    }
    if (auto ports = spec.find("ports"); ports != spec.end() && ports->is_array()) {
      for (json& p : *ports) {
        if (!p.is_object()) continue;
        Default(p, {"protocol"}, "TCP");
        if (p.contains("port")) Default(p, {"targetPort"}, p["port"]);
      }
    }
    if (const json* ip = Find(o, {"spec", "clusterIP"}); ip && !Find(o, {"spec", "clusterIPs"})) {
      spec["clusterIPs"] = json::array({*ip});
    }
    Default(o, {"status", "loadBalancer"}, json::object());
  }
};

class EndpointsStrategy : public Strategy {
 public:
  const std::vector<std::string>& TopLevelFields() const override {
    static const std::vector<std::string> kFields = {"apiVersion", "kind", "metadata", "subsets"};
    return kFields;
  }
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {
        {"Endpoints", "string", "The addresses and ports behind the service.", 0,
         [](const json& o) -> json {
           std::vector<std::string> all;
                      for (const json& s : ArrayAt(o, {"subsets"})) {
             for (const json& a : s.value("addresses", json::array())) {
               for (const json& p : s.value("ports", json::array())) {
                 all.push_back(a.value("ip", "") + ":" + std::to_string(p.value("port", 0)));
               }
             }
           }
           if (all.empty()) return "<none>";
           std::string out;
           for (size_t i = 0; i < all.size() && i < 3; ++i) out += (i ? "," : "") + all[i];
           if (all.size() > 3) out += fmt::format(" + {} more...", all.size() - 3);
           return out;
         }},
        AgeColumn()};
    return kColumns;
  }
};

// ------------------------------------------------------------------------------------ Pod

class PodStrategy : public Strategy {
 public:
  const MergeSchema& Merges() const override {
    static const MergeSchema kMerges =
        MergeSchema().WithObjectMeta().WithPodSpec("spec").Merge("status.conditions", "type");
    return kMerges;
  }
  void PrepareForCreate(json& o) const override {
    if (o.contains("spec")) DefaultPodSpec(o["spec"]);
    o["status"] = {{"phase", "Pending"}, {"qosClass", "BestEffort"}};
  }
  void PrepareForUpdate(const json&, json& next) const override {
    if (next.contains("spec")) DefaultPodSpec(next["spec"]);
  }
  const json* TypeSchema() const override {
    static const json kSchema = Object({{"spec", PodSpecTypes()}});
    return &kSchema;
  }
  std::vector<FieldError> Validate(const json& o) const override {
    std::vector<FieldError> errors;
    ValidatePodSpec(o.value("spec", json::object()), "spec", errors);
    return errors;
  }
  std::vector<FieldError> ValidateUpdate(const json& old, const json& next) const override {
    // Only images (and a few scheduling fields Kubernetes lets grow) may change.
    auto strip = [](json spec) {
      for (const char* list : {"containers", "initContainers"}) {
        if (!spec.contains(list) || !spec[list].is_array()) continue;
        for (json& c : spec[list]) {
          if (c.is_object()) c.erase("image");
        }
      }
      for (const char* f : {"activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"}) spec.erase(f);
      return spec;
    };
    if (strip(old.value("spec", json::object())) != strip(next.value("spec", json::object()))) {
      return {Forbidden("spec", "pod updates may not change fields other than `spec.containers[*].image`, "
                                "`spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, "
                                "`spec.tolerations` (only additions to existing tolerations) or "
                                "`spec.terminationGracePeriodSeconds`")};
    }
    return {};
  }
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {
        {"Ready", "string", "Ready containers of all containers.", 0,
         [](const json& o) -> json {
           const json* specs = Find(o, {"spec", "containers"});
           const json* st = Find(o, {"status", "containerStatuses"});
           size_t ready = 0;
           for (const json& c : st && st->is_array() ? *st : json::array()) ready += c.value("ready", false) ? 1 : 0;
           return fmt::format("{}/{}", ready, specs && specs->is_array() ? specs->size() : 0);
         }},
        {"Status", "string", "The pod's phase, or why it is not running.", 0,
         [](const json& o) -> json {
           if (Find(o, {"metadata", "deletionTimestamp"})) return "Terminating";
           std::string status = Or(StringAt(o, {"status", "reason"}), StringAt(o, {"status", "phase"}).c_str());
                      for (const json& c : ArrayAt(o, {"status", "containerStatuses"})) {
             const std::string waiting = StringAt(c, {"state", "waiting", "reason"});
             const std::string term = StringAt(c, {"state", "terminated", "reason"});
             if (!waiting.empty()) status = waiting;
             else if (!term.empty()) status = term;
           }
           return status;
         }},
        {"Restarts", "string", "Container restarts.", 0,
         [](const json& o) -> json {
           int64_t restarts = 0;
                      for (const json& c : ArrayAt(o, {"status", "containerStatuses"})) restarts += c.value("restartCount", int64_t{0});
           return std::to_string(restarts);
         }},
        AgeColumn(),
        {"IP", "string", "The pod's address.", 1,
         [](const json& o) -> json { return Or(StringAt(o, {"status", "podIP"}), "<none>"); }},
        {"Node", "string", "The node the pod runs on.", 1,
         [](const json& o) -> json { return Or(StringAt(o, {"spec", "nodeName"}), "<none>"); }}};
    return kColumns;
  }
};

// ---------------------------------------------------------- Event, Secret, ConfigMap, SA

class EventStrategy : public Strategy {
 public:
  const std::vector<std::string>& TopLevelFields() const override {
    static const std::vector<std::string> kFields = {"apiVersion", "kind", "metadata", "involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp", "count", "type", "eventTime", "series", "action", "related", "reportingComponent", "reportingInstance"};
    return kFields;
  }
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {
        {"Last Seen", "string", "When the event last happened.", 0,
         [](const json& o) -> json {
           std::string when = Or(StringAt(o, {"lastTimestamp"}), StringAt(o, {"eventTime"}).c_str());
           std::chrono::system_clock::time_point t;
           if (!ParseTimestamp(when, &t)) return "<unknown>";
           return HumanDuration(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - t));
         }},
        {"Type", "string", "Normal or Warning.", 0, [](const json& o) -> json { return StringAt(o, {"type"}); }},
        {"Reason", "string", "Why the event happened.", 0, [](const json& o) -> json { return StringAt(o, {"reason"}); }},
        {"Object", "string", "The object the event is about.", 0,
         [](const json& o) -> json {
           std::string kind = StringAt(o, {"involvedObject", "kind"});
           for (char& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
           return kind + "/" + StringAt(o, {"involvedObject", "name"});
         }},
        {"Message", "string", "What happened.", 0, [](const json& o) -> json { return StringAt(o, {"message"}); }}};
    return kColumns;
  }
};

class SecretStrategy : public Strategy {
 public:
  const std::vector<std::string>& TopLevelFields() const override {
    static const std::vector<std::string> kFields = {"apiVersion", "kind", "metadata", "data", "stringData", "type", "immutable"};
    return kFields;
  }
  void PrepareForCreate(json& o) const override {
    Default(o, {"type"}, "Opaque");
    FoldStringData(o);
  }
  void PrepareForUpdate(const json&, json& next) const override {
    Default(next, {"type"}, "Opaque");
    FoldStringData(next);
  }
  const json* TypeSchema() const override {
    static const json kSchema = Object({{"type", String()}, {"data", MapOf(String())},
                                        {"stringData", MapOf(String())}, {"immutable", Boolean()}});
    return &kSchema;
  }
  std::vector<FieldError> Validate(const json& o) const override {
    std::vector<FieldError> errors;
        for (const auto& [k, v] : ObjectAt(o, {"data"}).items()) {
      if (k.empty() || k.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") != std::string::npos) {
        errors.push_back(InvalidValue("data[" + k + "]", k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"));
      }
      if (v.is_string() && !Base64Decode(v.get<std::string>()).ok()) {
        errors.push_back(InvalidValue("data[" + k + "]", "<secret contents redacted>", "illegal base64 data"));
      }
    }
    return errors;
  }
  std::vector<FieldError> ValidateUpdate(const json& old, const json& next) const override {
    std::vector<FieldError> errors;
    if (StringAt(old, {"type"}) != StringAt(next, {"type"})) errors.push_back(Immutable("type", StringAt(next, {"type"})));
    if (const json* im = Find(old, {"immutable"}); im && *im == true &&
        (old.value("data", json::object()) != next.value("data", json::object()) || !Find(next, {"immutable"}))) {
      errors.push_back(Forbidden("data", "field is immutable when `immutable` is set"));
    }
    return errors;
  }
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {
        {"Type", "string", "The secret's type.", 0, [](const json& o) -> json { return StringAt(o, {"type"}); }},
        {"Data", "string", "The number of keys.", 0, [](const json& o) -> json { return Count(o, "data"); }},
        AgeColumn()};
    return kColumns;
  }

 private:
  // stringData is write-only: its entries land in data, base64-encoded, as on a real server.
  static void FoldStringData(json& o) {
    const json* sd = Find(o, {"stringData"});
    if (!sd || !sd->is_object()) return;
    json folded = *sd;
    o.erase("stringData");
    for (const auto& [k, v] : folded.items()) {
      if (v.is_string()) o["data"][k] = Base64Encode(v.get<std::string>());
    }
  }
};

class ConfigMapStrategy : public Strategy {
 public:
  const std::vector<std::string>& TopLevelFields() const override {
    static const std::vector<std::string> kFields = {"apiVersion", "kind", "metadata", "data", "binaryData", "immutable"};
    return kFields;
  }
  const json* TypeSchema() const override {
    static const json kSchema = Object({{"data", MapOf(String())}, {"binaryData", MapOf(String())},
                                        {"immutable", Boolean()}});
    return &kSchema;
  }
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {
        {"Data", "string", "The number of keys.", 0,
         [](const json& o) -> json {
           return std::to_string(std::stoul(Count(o, "data")) + std::stoul(Count(o, "binaryData")));
         }},
        AgeColumn()};
    return kColumns;
  }
};

class ServiceAccountStrategy : public Strategy {
 public:
  const std::vector<std::string>& TopLevelFields() const override {
    static const std::vector<std::string> kFields = {"apiVersion", "kind", "metadata", "secrets", "imagePullSecrets", "automountServiceAccountToken"};
    return kFields;
  }
  const MergeSchema& Merges() const override {
    static const MergeSchema kMerges =
        MergeSchema().WithObjectMeta().Merge("secrets", "name").Merge("imagePullSecrets", "name");
    return kMerges;
  }
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {
        {"Secrets", "string", "The number of secrets.", 0, [](const json& o) -> json { return Count(o, "secrets"); }},
        AgeColumn()};
    return kColumns;
  }
};

// --------------------------------------------------------------------------- PV and PVC

const std::vector<std::string> kAccessModes = {"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"};
const std::vector<std::string> kVolumeModes = {"Block", "Filesystem"};

void ValidateAccessModes(const json& spec, std::vector<FieldError>& errors) {
  const json* modes = Find(spec, {"accessModes"});
  if (!modes || !modes->is_array() || modes->empty()) {
    errors.push_back(Required("spec.accessModes"));
    return;
  }
  for (const json& m : *modes) {
    if (!m.is_string() || std::find(kAccessModes.begin(), kAccessModes.end(), m.get<std::string>()) == kAccessModes.end()) {
      errors.push_back(NotSupported("spec.accessModes", m, kAccessModes));
    }
  }
}

void ValidateStorage(const json* q, const std::string& field, std::vector<FieldError>& errors) {
  if (!q) {
    errors.push_back(Required(field));
    return;
  }
  auto parsed = q->is_string() ? api::Quantity::Parse(q->get<std::string>()) : Result<api::Quantity>(Status::InvalidArgument("not a string"));
  if (!parsed.ok()) {
    errors.push_back(InvalidValue(field, *q, parsed.status().message()));
  } else if (parsed->IsNegative() || parsed->IsZero()) {
    errors.push_back(InvalidValue(field, *q, "must be greater than zero"));
  }
}

void ValidateVolumeMode(const json& spec, std::vector<FieldError>& errors) {
  const std::string mode = StringAt(spec, {"volumeMode"});
  if (std::find(kVolumeModes.begin(), kVolumeModes.end(), mode) == kVolumeModes.end()) {
    errors.push_back(NotSupported("spec.volumeMode", mode, kVolumeModes));
  }
}

Column StorageClassColumn(int priority = 0) {
  return {"StorageClass", "string", "The storage class.", priority,
          [](const json& o) -> json { return StringAt(o, {"spec", "storageClassName"}); }};
}

class PersistentVolumeStrategy : public Strategy {
 public:
  void PrepareForCreate(json& o) const override {
    Defaults(o);
    o["status"] = {{"phase", "Pending"}};
  }
  void PrepareForUpdate(const json&, json& next) const override { Defaults(next); }
  const json* TypeSchema() const override {
    static const json kSchema = Object({{"spec", Object({
        {"capacity", MapOf(IntOrString())}, {"accessModes", ArrayOf(String())},
        {"persistentVolumeReclaimPolicy", String()}, {"storageClassName", String()},
        {"volumeMode", String()}, {"mountOptions", ArrayOf(String())},
        {"claimRef", Object({{"name", String()}, {"namespace", String()}, {"uid", String()}})},
        {"csi", Object({{"driver", String()}, {"volumeHandle", String()}, {"readOnly", Boolean()},
                        {"fsType", String()}, {"volumeAttributes", MapOf(String())}})}})}});
    return &kSchema;
  }
  std::vector<FieldError> Validate(const json& o) const override {
    std::vector<FieldError> errors;
    const json spec = o.value("spec", json::object());
    ValidateAccessModes(spec, errors);
    ValidateStorage(Find(spec, {"capacity", "storage"}), "spec.capacity", errors);
    ValidateVolumeMode(spec, errors);
    const std::string policy = StringAt(spec, {"persistentVolumeReclaimPolicy"});
    if (policy != "Retain" && policy != "Delete" && policy != "Recycle") {
      errors.push_back(NotSupported("spec.persistentVolumeReclaimPolicy", policy, {"Delete", "Recycle", "Retain"}));
    }
    static const char* kSources[] = {"csi", "hostPath", "local", "nfs", "iscsi", "fc", "rbd", "cephfs",
                                     "gcePersistentDisk", "awsElasticBlockStore", "azureDisk", "azureFile"};
    int sources = 0;
    for (const char* s : kSources) sources += Find(spec, {s}) ? 1 : 0;
    if (sources == 0) errors.push_back(Required("spec", "must specify a volume type"));
    if (sources > 1) errors.push_back(Forbidden("spec", "may not specify more than 1 volume type"));
    if (const json* csi = Find(spec, {"csi"})) {
      if (StringAt(*csi, {"driver"}).empty()) errors.push_back(Required("spec.csi.driver"));
      if (StringAt(*csi, {"volumeHandle"}).empty()) errors.push_back(Required("spec.csi.volumeHandle"));
    }
    return errors;
  }
  std::vector<FieldError> ValidateUpdate(const json& old, const json& next) const override {
    std::vector<FieldError> errors;
    if (StringAt(old, {"spec", "volumeMode"}) != StringAt(next, {"spec", "volumeMode"})) {
      errors.push_back(Immutable("spec.volumeMode", StringAt(next, {"spec", "volumeMode"})));
    }
    const json* a = Find(old, {"spec", "csi"});
    const json* b = Find(next, {"spec", "csi"});
    if ((a == nullptr) != (b == nullptr) || (a && *a != *b)) {
      errors.push_back(Forbidden("spec.persistentvolumesource", "spec.persistentvolumesource is immutable after creation"));
    }
    return errors;
  }
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {
        {"Capacity", "string", "The volume's size.", 0,
         [](const json& o) -> json { return StringAt(o, {"spec", "capacity", "storage"}); }},
        {"Access Modes", "string", "How the volume may be mounted.", 0,
         [](const json& o) -> json { const json* m = Find(o, {"spec", "accessModes"}); return AccessModes(m ? *m : json()); }},
        {"Reclaim Policy", "string", "What happens when the claim is released.", 0,
         [](const json& o) -> json { return StringAt(o, {"spec", "persistentVolumeReclaimPolicy"}); }},
        {"Status", "string", "The volume's phase.", 0,
         [](const json& o) -> json { return StringAt(o, {"status", "phase"}); }},
        {"Claim", "string", "The claim bound to the volume.", 0,
         [](const json& o) -> json {
           const std::string name = StringAt(o, {"spec", "claimRef", "name"});
           return name.empty() ? "" : StringAt(o, {"spec", "claimRef", "namespace"}) + "/" + name;
         }},
        StorageClassColumn(),
        {"VolumeAttributesClass", "string", "The volume attributes class.", 0,
         [](const json& o) -> json { return Or(StringAt(o, {"spec", "volumeAttributesClassName"}), "<unset>"); }},
        {"Reason", "string", "Why the volume is in its phase.", 0,
         [](const json& o) -> json { return StringAt(o, {"status", "reason"}); }},
        AgeColumn(),
        {"VolumeMode", "string", "Filesystem or Block.", 1,
         [](const json& o) -> json { return StringAt(o, {"spec", "volumeMode"}); }}};
    return kColumns;
  }

 private:
  static void Defaults(json& o) {
    Default(o, {"spec", "persistentVolumeReclaimPolicy"}, "Retain");
    Default(o, {"spec", "volumeMode"}, "Filesystem");
  }
};

class PersistentVolumeClaimStrategy : public Strategy {
 public:
  const MergeSchema& Merges() const override {
    static const MergeSchema kMerges = MergeSchema().WithObjectMeta().Merge("status.conditions", "type");
    return kMerges;
  }
  void PrepareForCreate(json& o) const override {
    Default(o, {"spec", "volumeMode"}, "Filesystem");
    o["status"] = {{"phase", "Pending"}};
  }
  void PrepareForUpdate(const json&, json& next) const override {
    Default(next, {"spec", "volumeMode"}, "Filesystem");
  }
  const json* TypeSchema() const override {
    static const json kSchema = Object({{"spec", Object({
        {"accessModes", ArrayOf(String())}, {"storageClassName", String()}, {"volumeName", String()},
        {"volumeMode", String()}, {"selector", LabelSelectorTypes()},
        {"resources", Object({{"requests", MapOf(IntOrString())}, {"limits", MapOf(IntOrString())}})},
        {"dataSource", Object({{"apiGroup", String()}, {"kind", String()}, {"name", String()}})}})}});
    return &kSchema;
  }
  std::vector<FieldError> Validate(const json& o) const override {
    std::vector<FieldError> errors;
    const json spec = o.value("spec", json::object());
    ValidateAccessModes(spec, errors);
    ValidateStorage(Find(spec, {"resources", "requests", "storage"}), "spec.resources[storage]", errors);
    ValidateVolumeMode(spec, errors);
    return errors;
  }
  std::vector<FieldError> ValidateUpdate(const json& old, const json& next) const override {
    std::vector<FieldError> errors;
    json a = old.value("spec", json::object()), b = next.value("spec", json::object());
    // The binder fills volumeName once; only the requested size may change after that.
    if (StringAt(a, {"volumeName"}).empty()) b.erase("volumeName"), a.erase("volumeName");
    const json* before = Find(a, {"resources", "requests", "storage"});
    const json* after = Find(b, {"resources", "requests", "storage"});
    if (before && after && before->is_string() && after->is_string()) {
      auto x = api::Quantity::Parse(before->get<std::string>());
      auto y = api::Quantity::Parse(after->get<std::string>());
      if (x.ok() && y.ok() && *y < *x) {
        errors.push_back(Forbidden("spec.resources.requests.storage", "field can not be less than previous value"));
      }
    }
    for (json* s : {&a, &b}) {
      if (s->contains("resources") && (*s)["resources"].is_object()) (*s)["resources"].erase("requests");
    }
    if (a != b) {
      errors.push_back(Forbidden("spec", "spec is immutable after creation except resources.requests and "
                                         "volumeAttributesClassName for bound claims"));
    }
    return errors;
  }
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {
        {"Status", "string", "The claim's phase.", 0, [](const json& o) -> json { return StringAt(o, {"status", "phase"}); }},
        {"Volume", "string", "The volume bound to the claim.", 0, [](const json& o) -> json { return StringAt(o, {"spec", "volumeName"}); }},
        {"Capacity", "string", "The bound volume's size.", 0,
         [](const json& o) -> json { return StringAt(o, {"status", "capacity", "storage"}); }},
        {"Access Modes", "string", "How the volume may be mounted.", 0,
         [](const json& o) -> json { const json* m = Find(o, {"status", "accessModes"}); return AccessModes(m ? *m : json()); }},
        StorageClassColumn(),
        {"VolumeAttributesClass", "string", "The volume attributes class.", 0,
         [](const json& o) -> json { return Or(StringAt(o, {"spec", "volumeAttributesClassName"}), "<unset>"); }},
        AgeColumn(),
        {"VolumeMode", "string", "Filesystem or Block.", 1,
         [](const json& o) -> json { return StringAt(o, {"spec", "volumeMode"}); }}};
    return kColumns;
  }
};

template <typename S>
std::shared_ptr<const Strategy> Make() { return std::make_shared<const S>(); }

}  // namespace

std::vector<ResourceDef> Core() {
  return {
      Builtin("", "Namespace", "namespaces", false, true, {"ns"}, Make<NamespaceStrategy>(), {"status.phase"}),
      Builtin("", "Node", "nodes", false, true, {"no"}, Make<NodeStrategy>(), {"spec.unschedulable"}),
      Builtin("", "Service", "services", true, true, {"svc"}, Make<ServiceStrategy>()),
      Builtin("", "Endpoints", "endpoints", true, false, {"ep"}, Make<EndpointsStrategy>()),
      [] {
        ResourceDef pods = Builtin("", "Pod", "pods", true, true, {"po"}, Make<PodStrategy>(),
                                   {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                                    "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
                                    "status.podIP", "status.nominatedNodeName"});
        pods.log_subresource = true;
        return pods;
      }(),
      Builtin("", "Event", "events", true, false, {"ev"}, Make<EventStrategy>(),
              {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
               "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
               "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"}),
      Builtin("", "Secret", "secrets", true, false, {}, Make<SecretStrategy>(), {"type"}),
      Builtin("", "ConfigMap", "configmaps", true, false, {"cm"}, Make<ConfigMapStrategy>()),
      Builtin("", "ServiceAccount", "serviceaccounts", true, false, {"sa"}, Make<ServiceAccountStrategy>()),
      Builtin("", "PersistentVolume", "persistentvolumes", false, true, {"pv"}, Make<PersistentVolumeStrategy>()),
      Builtin("", "PersistentVolumeClaim", "persistentvolumeclaims", true, true, {"pvc"},
              Make<PersistentVolumeClaimStrategy>()),
  };
}

}  // namespace cstor::apiserver::kinds
