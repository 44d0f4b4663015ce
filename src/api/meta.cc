// JSON mapping of the shared metadata types, and the finalizer and condition helpers.
#include "api/meta.h"

#include <ctime>

#include <algorithm>

namespace cstor::api {

template <>
struct JsonFields<OwnerReference> {
  static void Visit(auto& x, auto&& f) {
    f("apiVersion", x.api_version);
    f("kind", x.kind);
    f("name", x.name);
    f("uid", x.uid);
    f("controller", x.controller);
    f("blockOwnerDeletion", x.block_owner_deletion);
  }
};

template <>
struct JsonFields<ObjectMeta> {
  static void Visit(auto& x, auto&& f) {
    f("name", x.name);
    f("generateName", x.generate_name);
    f("namespace", x.namespace_);
    f("uid", x.uid);
    f("resourceVersion", x.resource_version);
    f("generation", x.generation);
    f("creationTimestamp", x.creation_timestamp);
    f("deletionTimestamp", x.deletion_timestamp);
    f("labels", x.labels);
    f("annotations", x.annotations);
    f("finalizers", x.finalizers);
    f("ownerReferences", x.owner_references);
  }
};

template <>
struct JsonFields<Condition> {
  static void Visit(auto& x, auto&& f) {
    f("type", x.type);
    f("status", x.status);
    f("reason", x.reason);
    f("message", x.message);
    f("lastTransitionTime", x.last_transition_time);
    f("lastProbeTime", x.last_probe_time);
    f("observedGeneration", x.observed_generation);
  }
};

template <>
struct JsonFields<ObjectReference> {
  static void Visit(auto& x, auto&& f) {
    f("apiVersion", x.api_version);
    f("kind", x.kind);
    f("namespace", x.namespace_);
    f("name", x.name);
    f("uid", x.uid);
    f("resourceVersion", x.resource_version);
    f("fieldPath", x.field_path);
  }
};

CSTOR_API_JSON_DEFINE(OwnerReference)
CSTOR_API_JSON_DEFINE(ObjectMeta)
CSTOR_API_JSON_DEFINE(Condition)
CSTOR_API_JSON_DEFINE(ObjectReference)

bool HasFinalizer(const ObjectMeta& meta, std::string_view finalizer) {
  return std::find(meta.finalizers.begin(), meta.finalizers.end(), finalizer) !=
         meta.finalizers.end();
}

bool AddFinalizer(ObjectMeta& meta, std::string_view finalizer) {
  if (HasFinalizer(meta, finalizer)) return false;
  meta.finalizers.emplace_back(finalizer);
  return true;
}

bool RemoveFinalizer(ObjectMeta& meta, std::string_view finalizer) {
  return std::erase(meta.finalizers, finalizer) > 0;
}

const Condition* FindCondition(const std::vector<Condition>& conditions, std::string_view type) {
  for (const Condition& c : conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

namespace {

bool SameModeledFields(const Condition& a, const Condition& b) {
  return a.type == b.type && a.status == b.status && a.reason == b.reason &&
         a.message == b.message && a.last_transition_time == b.last_transition_time &&
         a.last_probe_time == b.last_probe_time && a.observed_generation == b.observed_generation;
}

}  // namespace

bool SetCondition(std::vector<Condition>& conditions, Condition c, std::string_view now) {
  auto it = std::find_if(conditions.begin(), conditions.end(),
                         [&c](const Condition& old) { return old.type == c.type; });
  if (it == conditions.end()) {
    if (c.last_transition_time.empty()) c.last_transition_time = now;
    conditions.push_back(std::move(c));
    return true;
  }
  if (it->status == c.status) {
    c.last_transition_time = it->last_transition_time;
  } else if (c.last_transition_time.empty()) {
    c.last_transition_time = now;
  }
  if (c.raw.is_null()) c.raw = it->raw;
  const bool changed = !SameModeledFields(*it, c);
  *it = std::move(c);
  return changed;
}

const OwnerReference* ControllerOf(const ObjectMeta& meta) {
  for (const OwnerReference& ref : meta.owner_references) {
    if (ref.controller.value_or(false)) return &ref;
  }
  return nullptr;
}

std::string NowTimestamp() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace cstor::api
