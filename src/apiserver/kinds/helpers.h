// Building blocks for the built-in kinds' strategies: field errors worded as Kubernetes
// words them, type schemas, defaulting, and table cells.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "apiserver/registry.h"
#include "apiserver/schema.h"
#include "apiserver/strategy.h"

namespace cstor::apiserver::kinds {

using nlohmann::json;

// A built-in ResourceDef served at v1.
ResourceDef Builtin(std::string group, std::string kind, std::string plural, bool namespaced,
                    bool status, std::vector<std::string> short_names,
                    std::shared_ptr<const Strategy> strategy,
                    std::vector<std::string> selectable_fields = {});

// Field errors, in the words kube-apiserver uses.
FieldError Required(const std::string& field, const std::string& detail = "");
FieldError NotSupported(const std::string& field, const json& value,
                        const std::vector<std::string>& supported);
FieldError InvalidValue(const std::string& field, const json& value, const std::string& detail);
FieldError Immutable(const std::string& field, const json& value);
FieldError Forbidden(const std::string& field, const std::string& detail);
FieldError Duplicate(const std::string& field, const json& value);

// Type schemas: objects keep unknown fields; only the declared fields' types are checked.
json Object(std::initializer_list<std::pair<const char*, json>> properties = {});
json ArrayOf(json items);
json MapOf(json values);
json String();
json Integer();
json Boolean();
json IntOrString();
// The parts of a Pod template every workload kind shares.
json PodSpecTypes();
json LabelSelectorTypes();

// value at `path` (dot-separated keys) or null.
const json* Find(const json& object, std::initializer_list<const char*> path);
// Sets object[path] = value when it is absent or null.
void Default(json& object, std::initializer_list<const char*> path, json value);
// The object or array at `path`, or an empty one when missing or of another type.
const json& ObjectAt(const json& object, std::initializer_list<const char*> path);
const json& ArrayAt(const json& object, std::initializer_list<const char*> path);
std::string StringAt(const json& object, std::initializer_list<const char*> path);
int64_t IntAt(const json& object, std::initializer_list<const char*> path, int64_t fallback);

// Pod template defaults (restart policy, DNS policy, grace period, pull policy, ...).
void DefaultPodSpec(json& spec);
// containers required, unique DNS-label names, an image each.
void ValidatePodSpec(const json& spec, const std::string& path, std::vector<FieldError>& errors);
// A workload's selector: required, non-empty, and matching its template's labels.
void ValidateSelector(const json& object, std::vector<FieldError>& errors);
bool LabelsMatch(const json& selector, const json& labels);

// Table cells.
Column AgeColumn();
std::string AccessModes(const json& modes);  // "RWO,ROX"
std::string Or(std::string s, const char* fallback);

}  // namespace cstor::apiserver::kinds
