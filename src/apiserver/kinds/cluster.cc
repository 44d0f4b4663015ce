// Cluster machinery: Lease (coordination.k8s.io), the RBAC kinds
// (rbac.authorization.k8s.io: stored and served; this server does not enforce them, its
// one user is an administrator), and CustomResourceDefinition (apiextensions.k8s.io).
#include <fmt/format.h>

#include "apiserver/kinds/helpers.h"
#include "apiserver/kinds/kinds.h"

namespace cstor::apiserver::kinds {
namespace {

Column CreatedAt() {
  return {"Created At", "date", "When the object was created.", 0,
          [](const json& o) -> json { return StringAt(o, {"metadata", "creationTimestamp"}); }};
}

class LeaseStrategy : public Strategy {
 public:
  const std::vector<std::string>& TopLevelFields() const override {
    static const std::vector<std::string> kFields = {"apiVersion", "kind", "metadata", "spec"};
    return kFields;
  }
  const json* TypeSchema() const override {
    static const json kSchema = Object({{"spec", Object({
        {"holderIdentity", String()}, {"leaseDurationSeconds", Integer()},
        {"leaseTransitions", Integer()}, {"acquireTime", String()}, {"renewTime", String()}})}});
    return &kSchema;
  }
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {
        {"Holder", "string", "The lease's holder.", 0,
         [](const json& o) -> json { return StringAt(o, {"spec", "holderIdentity"}); }},
        AgeColumn()};
    return kColumns;
  }
};

class RoleStrategy : public Strategy {
 public:
  const std::vector<std::string>& TopLevelFields() const override {
    static const std::vector<std::string> kFields = {"apiVersion", "kind", "metadata", "rules", "aggregationRule"};
    return kFields;
  }
  const json* TypeSchema() const override {
    static const json kSchema = Object({{"rules", ArrayOf(Object({
        {"apiGroups", ArrayOf(String())}, {"resources", ArrayOf(String())},
        {"verbs", ArrayOf(String())}, {"resourceNames", ArrayOf(String())}}))}});
    return &kSchema;
  }
  std::vector<FieldError> Validate(const json& o) const override {
    std::vector<FieldError> errors;
    const json* rules = Find(o, {"rules"});
    for (size_t i = 0; rules && rules->is_array() && i < rules->size(); ++i) {
      const json* verbs = Find((*rules)[i], {"verbs"});
      if (!verbs || verbs->empty()) errors.push_back(Required(fmt::format("rules[{}].verbs", i), "verbs must contain at least one value"));
    }
    return errors;
  }
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {CreatedAt()};
    return kColumns;
  }
};

class BindingStrategy : public Strategy {
 public:
  const std::vector<std::string>& TopLevelFields() const override {
    static const std::vector<std::string> kFields = {"apiVersion", "kind", "metadata", "subjects", "roleRef"};
    return kFields;
  }
  const json* TypeSchema() const override {
    static const json kSchema = Object({
        {"roleRef", Object({{"apiGroup", String()}, {"kind", String()}, {"name", String()}})},
        {"subjects", ArrayOf(Object({{"kind", String()}, {"name", String()}, {"namespace", String()}}))}});
    return &kSchema;
  }
  std::vector<FieldError> Validate(const json& o) const override {
    std::vector<FieldError> errors;
    const std::string kind = StringAt(o, {"roleRef", "kind"});
    if (kind != "Role" && kind != "ClusterRole") errors.push_back(NotSupported("roleRef.kind", kind, {"ClusterRole", "Role"}));
    if (StringAt(o, {"roleRef", "name"}).empty()) errors.push_back(Required("roleRef.name"));
    return errors;
  }
  std::vector<FieldError> ValidateUpdate(const json& old, const json& next) const override {
    if (old.value("roleRef", json()) != next.value("roleRef", json())) {
      return {InvalidValue("roleRef", next.value("roleRef", json()), "cannot change roleRef")};
    }
    return {};
  }
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {
        {"Role", "string", "The role bound.", 0,
         [](const json& o) -> json { return StringAt(o, {"roleRef", "kind"}) + "/" + StringAt(o, {"roleRef", "name"}); }},
        AgeColumn()};
    return kColumns;
  }
};

class CrdStrategy : public Strategy {
 public:
  void PrepareForCreate(json& o) const override { o.erase("status"); }
  std::vector<FieldError> Validate(const json& o) const override {
    auto served = Registry::FromCrd(o);
    if (!served.ok()) return {{"FieldValueInvalid", "spec", "spec: " + served.status().message()}};
    return {};
  }
  const std::vector<Column>& Columns() const override {
    static const std::vector<Column> kColumns = {CreatedAt()};
    return kColumns;
  }
};

}  // namespace

std::vector<ResourceDef> Cluster() {
  const std::string rbac = "rbac.authorization.k8s.io";
  auto role = std::make_shared<const RoleStrategy>();
  auto binding = std::make_shared<const BindingStrategy>();
  return {
      Builtin("coordination.k8s.io", "Lease", "leases", true, false, {}, std::make_shared<const LeaseStrategy>()),
      Builtin(rbac, "Role", "roles", true, false, {}, role),
      Builtin(rbac, "ClusterRole", "clusterroles", false, false, {}, role),
      Builtin(rbac, "RoleBinding", "rolebindings", true, false, {}, binding),
      Builtin(rbac, "ClusterRoleBinding", "clusterrolebindings", false, false, {}, binding),
      [] {
        ResourceDef crd = Builtin("apiextensions.k8s.io", "CustomResourceDefinition", "customresourcedefinitions",
                                  false, true, {"crd", "crds"}, std::make_shared<const CrdStrategy>());
        crd.generation = true;
        return crd;
      }(),
  };
}

}  // namespace cstor::apiserver::kinds
