// What every Kubernetes object shares: ObjectMeta (with owner references), Condition,
// ObjectReference and List, plus the finalizer, condition and owner helpers controllers
// use on them. The JSON mapping and its round-trip rule are in json_fields.h.
//
// Thread-safety: plain values; the helpers touch only their arguments.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/json_fields.h"
#include "api/resource.h"

namespace cstor::api {

// A resource map such as {"storage": "10Gi"}; quantities stay strings.
using ResourceList = std::map<std::string, std::string>;
inline constexpr std::string_view kResourceStorage = "storage";

// Condition.status values.
inline constexpr std::string_view kConditionTrue = "True";
inline constexpr std::string_view kConditionFalse = "False";
inline constexpr std::string_view kConditionUnknown = "Unknown";

struct OwnerReference {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string uid;
  std::optional<bool> controller;
  std::optional<bool> block_owner_deletion;
  nlohmann::json raw;
};

// Members named after C++ keywords carry a trailing underscore (namespace_, template_).
struct ObjectMeta {
  std::string name;
  std::string generate_name;
  std::string namespace_;
  std::string uid;
  std::string resource_version;
  int64_t generation = 0;
  std::string creation_timestamp;
  std::optional<std::string> deletion_timestamp;  // set once deletion has been requested
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::vector<std::string> finalizers;
  std::vector<OwnerReference> owner_references;
  nlohmann::json raw;
};

struct Condition {
  std::string type;
  std::string status;  // kConditionTrue, kConditionFalse or kConditionUnknown
  std::string reason;
  std::string message;
  std::string last_transition_time;
  std::string last_probe_time;
  // The object's metadata.generation this condition was computed from: a reader can tell
  // whether it speaks of the current spec (metav1.Condition's observedGeneration).
  std::optional<int64_t> observed_generation;
  nlohmann::json raw;
};

// Points at another object (Event.involvedObject, CVC spec.cstorVolumeRef).
struct ObjectReference {
  std::string api_version;
  std::string kind;
  std::string namespace_;
  std::string name;
  std::string uid;
  std::string resource_version;
  std::string field_path;
  nlohmann::json raw;
};

CSTOR_API_JSON_DECLARE(OwnerReference);
CSTOR_API_JSON_DECLARE(ObjectMeta);
CSTOR_API_JSON_DECLARE(Condition);
CSTOR_API_JSON_DECLARE(ObjectReference);

// Finalizers. Add and Remove return true if they changed the list.
bool HasFinalizer(const ObjectMeta& meta, std::string_view finalizer);
bool AddFinalizer(ObjectMeta& meta, std::string_view finalizer);
bool RemoveFinalizer(ObjectMeta& meta, std::string_view finalizer);

// The condition of `type`, or nullptr. The pointer is valid until the vector changes.
const Condition* FindCondition(const std::vector<Condition>& conditions, std::string_view type);

// Replaces the condition of c.type with c, or appends it. lastTransitionTime is kept when
// the status is unchanged, else it becomes c.last_transition_time or, if empty, `now`.
// Unmodeled fields of the old condition are kept unless c has its own raw. Returns true if
// anything changed, i.e. the status needs writing.
bool SetCondition(std::vector<Condition>& conditions, Condition c, std::string_view now);

// The current time as Kubernetes writes timestamps: RFC 3339, UTC, whole seconds.
std::string NowTimestamp();

// A controller owner reference to `owner`, a typed object with a static kType.
template <class T>
OwnerReference ControllerRef(const T& owner) {
  OwnerReference ref;
  ref.api_version = T::kType.ApiVersion();
  ref.kind = std::string(T::kType.kind);
  ref.name = owner.metadata.name;
  ref.uid = owner.metadata.uid;
  ref.controller = true;
  ref.block_owner_deletion = true;
  return ref;
}

// The owner reference marked controller, or nullptr.
const OwnerReference* ControllerOf(const ObjectMeta& meta);

// One page of a list response. T is a typed kind.
template <class T>
struct List {
  std::string resource_version;
  std::string continue_token;  // "metadata.continue"; empty on the last page
  std::vector<T> items;
};

template <class T>
void from_json(const nlohmann::json& j, List<T>& list) {
  json_detail::RequireObject(j);
  nlohmann::json meta;
  Get(j, "metadata", meta);
  if (!meta.is_null()) json_detail::RequireObject(meta);
  Get(meta, "resourceVersion", list.resource_version);
  Get(meta, "continue", list.continue_token);
  Get(j, "items", list.items);
}

template <class T>
void to_json(nlohmann::json& j, const List<T>& list) {
  j = nlohmann::json::object();
  j["apiVersion"] = T::kType.ApiVersion();
  j["kind"] = std::string(T::kType.kind) + "List";
  j["metadata"] = nlohmann::json::object();
  Put(j["metadata"], "resourceVersion", list.resource_version);
  Put(j["metadata"], "continue", list.continue_token);
  j["items"] = list.items;
}

}  // namespace cstor::api
