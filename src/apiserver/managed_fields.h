// Field ownership and server-side apply, as kube-apiserver does them.
//
// Every write records, in metadata.managedFields, which fields its manager set: a create
// or update (operation "Update") takes the fields whose values it changed; an apply
// (operation "Apply", application/apply-patch+yaml) owns exactly the fields of the
// configuration it sent. A field is named by its path in FieldsV1's notation: "f:spec",
// "f:replicas", a keyed list item "k:{\"name\":\"web\"}", a set item "v:\"x\"".
//
// Applying a configuration:
//   - conflicts: a field the configuration sets to a value other than the live one, owned
//     by another manager, is a conflict (409 naming each) unless forced, which takes it;
//   - removal: a field this manager applied before and no longer applies is removed from
//     the object, unless another manager also owns it;
//   - merge: the configuration is merged into the object; maps field by field, lists with
//     a merge key item by item, sets as sets, anything else replaced.
// Lists merge by key where the kind's MergeSchema says so (the built-in kinds); a custom
// resource's lists are atomic.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apiserver/strategic_merge.h"

namespace cstor::apiserver {

using FieldPath = std::vector<std::string>;
using FieldSet = std::set<FieldPath>;

// Which part of an object a write manages: the main resource (everything but status when
// the kind has a status subresource) or the status subresource.
struct FieldScope {
  const MergeSchema* schema = nullptr;
  bool status_subresource = false;  // the kind has one
  bool status = false;              // this write is to it
};

// The fields of `obj` within `scope`: leaves, and keyed list items themselves.
FieldSet FieldsOf(const nlohmann::json& obj, const FieldScope& scope);

nlohmann::json EncodeFieldsV1(const FieldSet& fields);
FieldSet DecodeFieldsV1(const nlohmann::json& fields_v1);
// ".spec.template.spec.containers[name=\"web\"].image", as conflicts name fields.
std::string PathString(const FieldPath& path);

struct ManagedEntry {
  std::string manager;
  std::string operation;    // "Apply" or "Update"
  std::string api_version;
  std::string time;
  std::string subresource;  // "" or "status"
  FieldSet fields;
};
std::vector<ManagedEntry> ReadManagedFields(const nlohmann::json& obj);
void WriteManagedFields(nlohmann::json& obj, const std::vector<ManagedEntry>& entries);

// Records a create or update by `manager` of `next` (from `old`, null for a create):
// the fields it changed become its own and no one else's, and fields gone from the object
// are no one's. A request that carries managedFields sets them instead, as on a real
// server ([] clears them).
void RecordUpdate(const nlohmann::json* old, nlohmann::json& next, const std::string& manager,
                  const std::string& api_version, const FieldScope& scope, const std::string& now);

struct ApplyConflict {
  std::string manager;
  std::string path;  // PathString
};

// Applies `config` for `manager` to `live` (null: the object does not exist yet). Returns
// the new object with its managedFields; when a conflict stops it, fills `conflicts` and
// returns null.
nlohmann::json Apply(const nlohmann::json* live, const nlohmann::json& config, const std::string& manager,
                     bool force, const std::string& api_version, const FieldScope& scope,
                     const std::string& now, std::vector<ApplyConflict>& conflicts);

}  // namespace cstor::apiserver
