// What differs between kinds: the defaults and server-owned fields a real API server
// fills in, the validation it applies on create and update, and the columns
// `kubectl get` shows. Each built-in kind has one (kinds/*.cc); custom resources use
// the base, with their CRD's schema and printer columns.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apiserver/schema.h"
#include "apiserver/strategic_merge.h"

namespace cstor::apiserver {

// One table column computed from the object, as kube-apiserver's printers compute them.
struct Column {
  std::string name;         // "CLUSTER-IP"
  std::string type = "string";
  std::string description;
  int priority = 0;         // 1: only with -o wide
  std::function<nlohmann::json(const nlohmann::json& object)> cell;
};

class Strategy {
 public:
  virtual ~Strategy() = default;

  // Whether names are DNS labels (no dots), as for Namespaces and Services, rather than
  // DNS subdomains.
  virtual bool NameIsDnsLabel() const { return false; }

  // Server-set fields and defaults on create: status phases, defaulted spec fields. The
  // object's metadata is already complete.
  virtual void PrepareForCreate(nlohmann::json& /*object*/) const {}
  // Defaults on update, and fields a client may omit that the server keeps (a Service's
  // clusterIP).
  virtual void PrepareForUpdate(const nlohmann::json& /*old*/, nlohmann::json& /*next*/) const {}
  // A partial OpenAPI schema of the fields with fixed types: a wrong type is refused with
  // 400 before anything else, as a real server's decoder refuses it. Unknown fields are
  // kept. Null: no type checks.
  virtual const nlohmann::json* TypeSchema() const { return nullptr; }
  // The kind's top-level fields. A real server decodes into a typed object, so anything
  // else is dropped (with a warning) or, with fieldValidation=Strict, refused.
  virtual const std::vector<std::string>& TopLevelFields() const {
    static const std::vector<std::string> kFields = {"apiVersion", "kind", "metadata", "spec", "status"};
    return kFields;
  }
  virtual std::vector<FieldError> Validate(const nlohmann::json& /*object*/) const { return {}; }
  // Rules between the old and the new object (immutable fields); Validate runs as well.
  virtual std::vector<FieldError> ValidateUpdate(const nlohmann::json& /*old*/,
                                                 const nlohmann::json& /*next*/) const {
    return {};
  }
  // The lists a strategic merge patch merges by key. Every kind has the metadata's.
  virtual const MergeSchema& Merges() const {
    static const MergeSchema kMeta = MergeSchema().WithObjectMeta();
    return kMeta;
  }
  // Computed table columns after Name (Age included where the kind shows it). Empty: the
  // CRD's printer columns, or Age.
  virtual const std::vector<Column>& Columns() const {
    static const std::vector<Column> kNone;
    return kNone;
  }
};

}  // namespace cstor::apiserver
