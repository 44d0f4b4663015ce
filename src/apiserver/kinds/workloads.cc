// The apps group (v1): Deployment, DaemonSet, StatefulSet. The server defaults and
// validates them; running their pods is the node runtime's work.
#include <fmt/format.h>

#include "apiserver/kinds/helpers.h"
#include "apiserver/kinds/kinds.h"

namespace cstor::apiserver::kinds {
namespace {

// "1/3": ready replicas of the desired, as Deployments and StatefulSets show them.
Column ReadyReplicasColumn() {
  return {"Ready", "string", "Ready replicas of the desired.", 0, [](const json& o) -> json {
            return fmt::format("{}/{}", IntAt(o, {"status", "readyReplicas"}, 0), IntAt(o, {"spec", "replicas"}, 0));
          }};
}

// What every workload shares: a selector that matches its template (and never changes),
// a pod template with the pod defaults.
class WorkloadStrategy : public Strategy {
 public:
  const MergeSchema& Merges() const override {
    static const MergeSchema kMerges =
        MergeSchema().WithObjectMeta().WithPodSpec("spec.template.spec").Merge("status.conditions", "type");
    return kMerges;
  }
  void PrepareForCreate(json& o) const override {
    Defaults(o);
    o["status"] = json::object();
  }
  void PrepareForUpdate(const json&, json& next) const override { Defaults(next); }
  const json* TypeSchema() const override {
    static const json kSchema = Object({{"spec", Object({
        {"replicas", Integer()}, {"selector", LabelSelectorTypes()},
        {"revisionHistoryLimit", Integer()}, {"minReadySeconds", Integer()},
        {"serviceName", String()}, {"podManagementPolicy", String()},
        {"strategy", Object({{"type", String()},
                             {"rollingUpdate", Object({{"maxSurge", IntOrString()},
                                                       {"maxUnavailable", IntOrString()}})}})},
        {"updateStrategy", Object({{"type", String()}})},
        {"template", Object({{"metadata", Object({{"labels", MapOf(String())}})},
                             {"spec", PodSpecTypes()}})}})}});
    return &kSchema;
  }
  std::vector<FieldError> Validate(const json& o) const override {
    std::vector<FieldError> errors;
    ValidateSelector(o, errors);
    const json* spec = Find(o, {"spec", "template", "spec"});
    ValidatePodSpec(spec ? *spec : json::object(), "spec.template.spec", errors);
    if (IntAt(o, {"spec", "replicas"}, 0) < 0) {
      errors.push_back(InvalidValue("spec.replicas", IntAt(o, {"spec", "replicas"}, 0),
                                    "must be greater than or equal to 0"));
    }
    if (const json* restart = Find(o, {"spec", "template", "spec", "restartPolicy"});
        restart && *restart != "Always") {
      errors.push_back(NotSupported("spec.template.spec.restartPolicy", *restart, {"Always"}));
    }
    ValidateKind(o, errors);
    return errors;
  }
  std::vector<FieldError> ValidateUpdate(const json& old, const json& next) const override {
    const json* a = Find(old, {"spec", "selector"});
    const json* b = Find(next, {"spec", "selector"});
    if (a && b && *a != *b) return {Immutable("spec.selector", *b)};
    return {};
  }

 protected:
  virtual void Defaults(json& o) const {
    if (json* spec = o.contains("spec") ? &o["spec"] : nullptr; spec && spec->is_object()) {
      Default(*spec, {"revisionHistoryLimit"}, 10);
      if (spec->contains("template") && (*spec)["template"].is_object() &&
          (*spec)["template"].contains("spec")) {
        DefaultPodSpec((*spec)["template"]["spec"]);
      }
    }
  }
  virtual void ValidateKind(const json&, std::vector<FieldError>&) const {}
};

class DeploymentStrategy : public WorkloadStrategy {
 public:
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {
        ReadyReplicasColumn(),
        {"Up-to-date", "integer", "Replicas of the current template.", 0,
         [](const json& o) -> json { return IntAt(o, {"status", "updatedReplicas"}, 0); }},
        {"Available", "integer", "Replicas available to serve.", 0,
         [](const json& o) -> json { return IntAt(o, {"status", "availableReplicas"}, 0); }},
        AgeColumn()};
    return kColumns;
  }

 protected:
  void Defaults(json& o) const override {
    WorkloadStrategy::Defaults(o);
    Default(o, {"spec", "replicas"}, 1);
    Default(o, {"spec", "progressDeadlineSeconds"}, 600);
    Default(o, {"spec", "strategy", "type"}, "RollingUpdate");
    if (StringAt(o, {"spec", "strategy", "type"}) == "RollingUpdate") {
      Default(o, {"spec", "strategy", "rollingUpdate", "maxSurge"}, "25%");
      Default(o, {"spec", "strategy", "rollingUpdate", "maxUnavailable"}, "25%");
    }
  }
  void ValidateKind(const json& o, std::vector<FieldError>& errors) const override {
    const std::string type = StringAt(o, {"spec", "strategy", "type"});
    if (type != "RollingUpdate" && type != "Recreate") {
      errors.push_back(NotSupported("spec.strategy.type", type, {"Recreate", "RollingUpdate"}));
    }
    if (type == "Recreate" && Find(o, {"spec", "strategy", "rollingUpdate"})) {
      errors.push_back(Forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"));
    }
  }
};

class DaemonSetStrategy : public WorkloadStrategy {
 public:
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {
        {"Desired", "integer", "Nodes that should run the pod.", 0,
         [](const json& o) -> json { return IntAt(o, {"status", "desiredNumberScheduled"}, 0); }},
        {"Current", "integer", "Nodes running the pod.", 0,
         [](const json& o) -> json { return IntAt(o, {"status", "currentNumberScheduled"}, 0); }},
        {"Ready", "integer", "Nodes with the pod ready.", 0,
         [](const json& o) -> json { return IntAt(o, {"status", "numberReady"}, 0); }},
        {"Up-to-date", "integer", "Nodes running the current template.", 0,
         [](const json& o) -> json { return IntAt(o, {"status", "updatedNumberScheduled"}, 0); }},
        {"Available", "integer", "Nodes with the pod available.", 0,
         [](const json& o) -> json { return IntAt(o, {"status", "numberAvailable"}, 0); }},
        {"Node Selector", "string", "The nodes the pod may run on.", 0,
         [](const json& o) -> json {
           std::string out;
                      for (const auto& [k, v] : ObjectAt(o, {"spec", "template", "spec", "nodeSelector"}).items()) {
             out += (out.empty() ? "" : ",") + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
           }
           return Or(out, "<none>");
         }},
        AgeColumn()};
    return kColumns;
  }

 protected:
  void Defaults(json& o) const override {
    WorkloadStrategy::Defaults(o);
    Default(o, {"spec", "updateStrategy", "type"}, "RollingUpdate");
    if (StringAt(o, {"spec", "updateStrategy", "type"}) == "RollingUpdate") {
      Default(o, {"spec", "updateStrategy", "rollingUpdate", "maxUnavailable"}, 1);
      Default(o, {"spec", "updateStrategy", "rollingUpdate", "maxSurge"}, 0);
    }
  }
  void ValidateKind(const json& o, std::vector<FieldError>& errors) const override {
    const std::string type = StringAt(o, {"spec", "updateStrategy", "type"});
    if (type != "RollingUpdate" && type != "OnDelete") {
      errors.push_back(NotSupported("spec.updateStrategy.type", type, {"OnDelete", "RollingUpdate"}));
    }
  }
};

class StatefulSetStrategy : public WorkloadStrategy {
 public:
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {
        ReadyReplicasColumn(),
        AgeColumn()};
    return kColumns;
  }
  std::vector<FieldError> ValidateUpdate(const json& old, const json& next) const override {
    // Kubernetes lets replicas, the template, the update strategy and a few more change.
    auto strip = [](json spec) {
      for (const char* f : {"replicas", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy",
                            "minReadySeconds", "ordinals", "revisionHistoryLimit"}) {
        spec.erase(f);
      }
      return spec;
    };
    if (strip(old.value("spec", json::object())) != strip(next.value("spec", json::object()))) {
      return {Forbidden("spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                                "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
                                "'minReadySeconds' are forbidden")};
    }
    return {};
  }

 protected:
  void Defaults(json& o) const override {
    WorkloadStrategy::Defaults(o);
    Default(o, {"spec", "replicas"}, 1);
    Default(o, {"spec", "podManagementPolicy"}, "OrderedReady");
    Default(o, {"spec", "updateStrategy", "type"}, "RollingUpdate");
    if (StringAt(o, {"spec", "updateStrategy", "type"}) == "RollingUpdate") {
      Default(o, {"spec", "updateStrategy", "rollingUpdate", "partition"}, 0);
    }
    Default(o, {"spec", "persistentVolumeClaimRetentionPolicy"},
            json{{"whenDeleted", "Retain"}, {"whenScaled", "Retain"}});
  }
  void ValidateKind(const json& o, std::vector<FieldError>& errors) const override {
    const std::string policy = StringAt(o, {"spec", "podManagementPolicy"});
    if (policy != "OrderedReady" && policy != "Parallel") {
      errors.push_back(NotSupported("spec.podManagementPolicy", policy, {"OrderedReady", "Parallel"}));
    }
  }
};

ResourceDef Scalable(ResourceDef d) {
  d.scale_subresource = true;
  d.generation = true;
  return d;
}

}  // namespace

std::vector<ResourceDef> Workloads() {
  return {
      Scalable(Builtin("apps", "Deployment", "deployments", true, true, {"deploy"}, std::make_shared<const DeploymentStrategy>())),
      [] {
        ResourceDef ds = Builtin("apps", "DaemonSet", "daemonsets", true, true, {"ds"}, std::make_shared<const DaemonSetStrategy>());
        ds.generation = true;
        return ds;
      }(),
      Scalable(Builtin("apps", "StatefulSet", "statefulsets", true, true, {"sts"}, std::make_shared<const StatefulSetStrategy>())),
  };
}

}  // namespace cstor::apiserver::kinds
