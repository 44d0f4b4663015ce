// The storage.k8s.io group (v1): StorageClass, CSIDriver, CSINode, VolumeAttachment, as
// the CSI sidecars and the attach/detach controller read them.
#include <set>

#include <fmt/format.h>

#include "apiserver/kinds/helpers.h"
#include "apiserver/kinds/kinds.h"
#include "apiserver/validation.h"

namespace cstor::apiserver::kinds {
namespace {

std::string Bool(const json& o, std::initializer_list<const char*> path) {
  const json* v = Find(o, path);
  return v && v->is_boolean() ? (v->get<bool>() ? "true" : "false") : "<unset>";
}

class StorageClassStrategy : public Strategy {
 public:
  const std::vector<std::string>& TopLevelFields() const override {
    static const std::vector<std::string> kFields = {"apiVersion", "kind", "metadata", "provisioner", "parameters", "reclaimPolicy", "mountOptions", "allowVolumeExpansion", "volumeBindingMode", "allowedTopologies"};
    return kFields;
  }
  void PrepareForCreate(json& o) const override { Defaults(o); }
  void PrepareForUpdate(const json&, json& next) const override { Defaults(next); }
  const json* TypeSchema() const override {
    static const json kSchema = Object({{"provisioner", String()}, {"parameters", MapOf(String())},
                                        {"reclaimPolicy", String()}, {"volumeBindingMode", String()},
                                        {"allowVolumeExpansion", Boolean()},
                                        {"mountOptions", ArrayOf(String())}});
    return &kSchema;
  }
  std::vector<FieldError> Validate(const json& o) const override {
    std::vector<FieldError> errors;
    const std::string provisioner = StringAt(o, {"provisioner"});
    if (provisioner.empty()) {
      errors.push_back(Required("provisioner"));
    } else if (Status s = ValidateDnsSubdomain(provisioner); !s.ok()) {
      errors.push_back(InvalidValue("provisioner", provisioner, s.message()));
    }
    const std::string policy = StringAt(o, {"reclaimPolicy"});
    if (policy != "Delete" && policy != "Retain") {
      errors.push_back(NotSupported("reclaimPolicy", policy, {"Delete", "Retain"}));
    }
    const std::string binding = StringAt(o, {"volumeBindingMode"});
    if (binding != "Immediate" && binding != "WaitForFirstConsumer") {
      errors.push_back(NotSupported("volumeBindingMode", binding, {"Immediate", "WaitForFirstConsumer"}));
    }
    return errors;
  }
  std::vector<FieldError> ValidateUpdate(const json& old, const json& next) const override {
    std::vector<FieldError> errors;
    for (const char* field : {"provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"}) {
      const json a = old.value(field, json()), b = next.value(field, json());
      if (a != b) errors.push_back(Forbidden(field, "updates to " + std::string(field) + " are forbidden."));
    }
    return errors;
  }
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {
        {"Provisioner", "string", "The driver that provisions volumes.", 0,
         [](const json& o) -> json { return StringAt(o, {"provisioner"}); }},
        {"ReclaimPolicy", "string", "What happens to a released volume.", 0,
         [](const json& o) -> json { return StringAt(o, {"reclaimPolicy"}); }},
        {"VolumeBindingMode", "string", "When volumes are bound.", 0,
         [](const json& o) -> json { return StringAt(o, {"volumeBindingMode"}); }},
        {"AllowVolumeExpansion", "string", "Whether claims may grow.", 0,
         [](const json& o) -> json { const json* v = Find(o, {"allowVolumeExpansion"}); return v && *v == true ? "true" : "false"; }},
        AgeColumn()};
    return kColumns;
  }

 private:
  static void Defaults(json& o) {
    Default(o, {"reclaimPolicy"}, "Delete");
    Default(o, {"volumeBindingMode"}, "Immediate");
  }
};

class CsiDriverStrategy : public Strategy {
 public:
  const std::vector<std::string>& TopLevelFields() const override {
    static const std::vector<std::string> kFields = {"apiVersion", "kind", "metadata", "spec"};
    return kFields;
  }
  void PrepareForCreate(json& o) const override { Defaults(o); }
  void PrepareForUpdate(const json&, json& next) const override { Defaults(next); }
  const json* TypeSchema() const override {
    static const json kSchema = Object({{"spec", Object({
        {"attachRequired", Boolean()}, {"podInfoOnMount", Boolean()}, {"storageCapacity", Boolean()},
        {"requiresRepublish", Boolean()}, {"seLinuxMount", Boolean()}, {"fsGroupPolicy", String()},
        {"volumeLifecycleModes", ArrayOf(String())}})}});
    return &kSchema;
  }
  std::vector<FieldError> Validate(const json& o) const override {
    std::vector<FieldError> errors;
    const std::string policy = StringAt(o, {"spec", "fsGroupPolicy"});
    if (policy != "ReadWriteOnceWithFSType" && policy != "File" && policy != "None") {
      errors.push_back(NotSupported("spec.fsGroupPolicy", policy, {"File", "None", "ReadWriteOnceWithFSType"}));
    }
        for (const json& m : ArrayAt(o, {"spec", "volumeLifecycleModes"})) {
      if (m != "Persistent" && m != "Ephemeral") {
        errors.push_back(NotSupported("spec.volumeLifecycleModes", m, {"Ephemeral", "Persistent"}));
      }
    }
    return errors;
  }
  std::vector<FieldError> ValidateUpdate(const json& old, const json& next) const override {
    if (Find(old, {"spec", "attachRequired"}) && Find(next, {"spec", "attachRequired"}) &&
        old["spec"]["attachRequired"] != next["spec"]["attachRequired"]) {
      return {Immutable("spec.attachRequired", next["spec"]["attachRequired"])};
    }
    return {};
  }
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {
        {"AttachRequired", "string", "Whether volumes need ControllerPublish.", 0,
         [](const json& o) -> json { return Bool(o, {"spec", "attachRequired"}); }},
        {"PodInfoOnMount", "string", "Whether NodePublish gets the pod's identity.", 0,
         [](const json& o) -> json { return Bool(o, {"spec", "podInfoOnMount"}); }},
        {"StorageCapacity", "string", "Whether the driver reports capacity.", 0,
         [](const json& o) -> json { return Bool(o, {"spec", "storageCapacity"}); }},
        {"TokenRequests", "string", "Service account tokens the driver asks for.", 0,
         [](const json& o) -> json { return Find(o, {"spec", "tokenRequests"}) ? "set" : "<unset>"; }},
        {"RequiresRepublish", "string", "Whether NodePublish is called again.", 0,
         [](const json& o) -> json { return Bool(o, {"spec", "requiresRepublish"}); }},
        {"Modes", "string", "Volume lifecycle modes.", 0,
         [](const json& o) -> json {
           std::string out;
                      for (const json& m : ArrayAt(o, {"spec", "volumeLifecycleModes"})) {
             if (m.is_string()) out += (out.empty() ? "" : ",") + m.get<std::string>();
           }
           return Or(out, "<none>");
         }},
        AgeColumn()};
    return kColumns;
  }

 private:
  static void Defaults(json& o) {
    Default(o, {"spec", "attachRequired"}, true);
    Default(o, {"spec", "podInfoOnMount"}, false);
    Default(o, {"spec", "storageCapacity"}, false);
    Default(o, {"spec", "requiresRepublish"}, false);
    Default(o, {"spec", "seLinuxMount"}, false);
    Default(o, {"spec", "fsGroupPolicy"}, "ReadWriteOnceWithFSType");
    Default(o, {"spec", "volumeLifecycleModes"}, json::array({"Persistent"}));
  }
};

class CsiNodeStrategy : public Strategy {
 public:
  const std::vector<std::string>& TopLevelFields() const override {
    static const std::vector<std::string> kFields = {"apiVersion", "kind", "metadata", "spec"};
    return kFields;
  }
  const MergeSchema& Merges() const override {
    static const MergeSchema kMerges = MergeSchema().WithObjectMeta().Merge("spec.drivers", "name");
    return kMerges;
  }
  const json* TypeSchema() const override {
    static const json kSchema = Object({{"spec", Object({{"drivers", ArrayOf(Object({
        {"name", String()}, {"nodeID", String()}, {"topologyKeys", ArrayOf(String())},
        {"allocatable", Object({{"count", Integer()}})}}))}})}});
    return &kSchema;
  }
  std::vector<FieldError> Validate(const json& o) const override {
    std::vector<FieldError> errors;
    const json* drivers = Find(o, {"spec", "drivers"});
    if (!drivers) errors.push_back(Required("spec.drivers"));
    std::set<std::string> names;
    for (size_t i = 0; drivers && i < drivers->size(); ++i) {
      const std::string at = fmt::format("spec.drivers[{}]", i);
      const std::string name = StringAt((*drivers)[i], {"name"});
      if (name.empty()) errors.push_back(Required(at + ".name"));
      else if (!names.insert(name).second) errors.push_back(Duplicate(at + ".name", name));
      if (StringAt((*drivers)[i], {"nodeID"}).empty()) errors.push_back(Required(at + ".nodeID"));
    }
    return errors;
  }
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {
        {"Drivers", "integer", "The CSI drivers installed on the node.", 0,
         [](const json& o) -> json { const json* d = Find(o, {"spec", "drivers"}); return d && d->is_array() ? d->size() : 0; }},
        AgeColumn()};
    return kColumns;
  }
};

class VolumeAttachmentStrategy : public Strategy {
 public:
  void PrepareForCreate(json& o) const override { o["status"] = {{"attached", false}}; }
  const json* TypeSchema() const override {
    static const json kSchema = Object({
        {"spec", Object({{"attacher", String()}, {"nodeName", String()},
                         {"source", Object({{"persistentVolumeName", String()}})}})},
        {"status", Object({{"attached", Boolean()}, {"attachmentMetadata", MapOf(String())}})}});
    return &kSchema;
  }
  std::vector<FieldError> Validate(const json& o) const override {
    std::vector<FieldError> errors;
    if (StringAt(o, {"spec", "attacher"}).empty()) errors.push_back(Required("spec.attacher"));
    if (StringAt(o, {"spec", "nodeName"}).empty()) errors.push_back(Required("spec.nodeName"));
    const bool pv = !StringAt(o, {"spec", "source", "persistentVolumeName"}).empty();
    const bool inline_spec = Find(o, {"spec", "source", "inlineVolumeSpec"}) != nullptr;
    if (pv == inline_spec) {
      errors.push_back(Required("spec.source", "must specify exactly one of persistentVolumeName and inlineVolumeSpec"));
    }
    return errors;
  }
  std::vector<FieldError> ValidateUpdate(const json& old, const json& next) const override {
    if (old.value("spec", json()) != next.value("spec", json())) {
      return {Immutable("spec", next.value("spec", json()))};
    }
    return {};
  }
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {
        {"Attacher", "string", "The driver that attaches.", 0, [](const json& o) -> json { return StringAt(o, {"spec", "attacher"}); }},
        {"PV", "string", "The volume.", 0, [](const json& o) -> json { return StringAt(o, {"spec", "source", "persistentVolumeName"}); }},
        {"Node", "string", "The node it is attached to.", 0, [](const json& o) -> json { return StringAt(o, {"spec", "nodeName"}); }},
        {"Attached", "boolean", "Whether the attach succeeded.", 0,
         [](const json& o) -> json { const json* a = Find(o, {"status", "attached"}); return a && *a == true; }},
        AgeColumn()};
    return kColumns;
  }
};

}  // namespace

std::vector<ResourceDef> Storage() {
  return {
      Builtin("storage.k8s.io", "StorageClass", "storageclasses", false, false, {"sc"},
              std::make_shared<const StorageClassStrategy>()),
      Builtin("storage.k8s.io", "CSIDriver", "csidrivers", false, false, {},
              std::make_shared<const CsiDriverStrategy>()),
      Builtin("storage.k8s.io", "CSINode", "csinodes", false, false, {},
              std::make_shared<const CsiNodeStrategy>()),
      Builtin("storage.k8s.io", "VolumeAttachment", "volumeattachments", false, true, {},
              std::make_shared<const VolumeAttachmentStrategy>()),
  };
}

}  // namespace cstor::apiserver::kinds
