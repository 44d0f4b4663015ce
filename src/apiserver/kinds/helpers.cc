#include "apiserver/kinds/helpers.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "apiserver/table.h"
#include "apiserver/validation.h"

namespace cstor::apiserver::kinds {
namespace {

std::string Show(const json& value) {
  return value.is_string() ? "\"" + value.get<std::string>() + "\"" : value.dump();
}

}  // namespace

ResourceDef Builtin(std::string group, std::string kind, std::string plural, bool namespaced,
                    bool status, std::vector<std::string> short_names,
                    std::shared_ptr<const Strategy> strategy,
                    std::vector<std::string> selectable_fields) {
  ResourceDef d;
  d.group = std::move(group);
  d.version = "v1";
  d.kind = kind;
  d.list_kind = kind + "List";
  for (char c : d.kind) d.singular += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  d.plural = std::move(plural);
  d.short_names = std::move(short_names);
  d.namespaced = namespaced;
  d.status_subresource = status;
  d.printer_columns = json::array();
  d.selectable_fields = std::move(selectable_fields);
  d.strategy = std::move(strategy);
  return d;
}

FieldError Required(const std::string& field, const std::string& detail) {
  return {"FieldValueRequired", field,
          field + ": Required value" + (detail.empty() ? "" : ": " + detail)};
}

FieldError NotSupported(const std::string& field, const json& value,
                        const std::vector<std::string>& supported) {
  std::string list;
  for (const std::string& s : supported) list += (list.empty() ? "\"" : ", \"") + s + "\"";
  return {"FieldValueNotSupported", field,
          fmt::format("{}: Unsupported value: {}: supported values: {}", field, Show(value), list)};
}

FieldError InvalidValue(const std::string& field, const json& value, const std::string& detail) {
  return {"FieldValueInvalid", field,
          fmt::format("{}: Invalid value: {}: {}", field, Show(value), detail)};
}

FieldError Immutable(const std::string& field, const json& value) {
  return InvalidValue(field, value, "field is immutable");
}

FieldError Forbidden(const std::string& field, const std::string& detail) {
  return {"FieldValueForbidden", field, field + ": Forbidden: " + detail};
}

FieldError Duplicate(const std::string& field, const json& value) {
  return {"FieldValueDuplicate", field, fmt::format("{}: Duplicate value: {}", field, Show(value))};
}

json Object(std::initializer_list<std::pair<const char*, json>> properties) {
  json props = json::object();
  for (const auto& [name, schema] : properties) props[name] = schema;
  return {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}, {"properties", props}};
}
json ArrayOf(json items) { return {{"type", "array"}, {"items", std::move(items)}}; }
json MapOf(json values) { return {{"type", "object"}, {"additionalProperties", std::move(values)}}; }
json String() { return {{"type", "string"}}; }
json Integer() { return {{"type", "integer"}}; }
json Boolean() { return {{"type", "boolean"}}; }
json IntOrString() { return {{"x-kubernetes-int-or-string", true}}; }

json LabelSelectorTypes() {
  return Object({{"matchLabels", MapOf(String())},
                 {"matchExpressions", ArrayOf(Object({{"key", String()},
                                                      {"operator", String()},
                                                      {"values", ArrayOf(String())}}))}});
}

json PodSpecTypes() {
  const json env = ArrayOf(Object({{"name", String()}, {"value", String()}}));
  const json container = Object({
      {"name", String()}, {"image", String()}, {"command", ArrayOf(String())},
      {"args", ArrayOf(String())}, {"env", env}, {"workingDir", String()},
      {"imagePullPolicy", String()},
      {"ports", ArrayOf(Object({{"containerPort", Integer()}, {"hostPort", Integer()},
                                {"name", String()}, {"protocol", String()}}))},
      {"volumeMounts", ArrayOf(Object({{"name", String()}, {"mountPath", String()},
                                       {"readOnly", Boolean()}, {"subPath", String()}}))},
      {"volumeDevices", ArrayOf(Object({{"name", String()}, {"devicePath", String()}}))},
  });
  return Object({
      {"containers", ArrayOf(container)}, {"initContainers", ArrayOf(container)},
      {"nodeName", String()}, {"nodeSelector", MapOf(String())},
      {"serviceAccountName", String()}, {"restartPolicy", String()},
      {"terminationGracePeriodSeconds", Integer()}, {"hostNetwork", Boolean()},
      {"volumes", ArrayOf(Object({{"name", String()}}))},
  });
}

const json* Find(const json& object, std::initializer_list<const char*> path) {
  const json* cur = &object;
  for (const char* key : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur->is_null() ? nullptr : cur;
}

void Default(json& object, std::initializer_list<const char*> path, json value) {
  json* cur = &object;
  for (const char* key : path) {
    if (cur->is_null()) *cur = json::object();
    if (!cur->is_object()) return;  // a type error, reported elsewhere
    cur = &(*cur)[key];
  }
  if (cur->is_null()) *cur = std::move(value);
}

const json& ObjectAt(const json& object, std::initializer_list<const char*> path) {
  static const json kEmpty = json::object();
  const json* v = Find(object, path);
  return v && v->is_object() ? *v : kEmpty;
}

const json& ArrayAt(const json& object, std::initializer_list<const char*> path) {
  static const json kEmpty = json::array();
  const json* v = Find(object, path);
  return v && v->is_array() ? *v : kEmpty;
}

std::string StringAt(const json& object, std::initializer_list<const char*> path) {
  const json* v = Find(object, path);
  return v && v->is_string() ? v->get<std::string>() : "";
}

int64_t IntAt(const json& object, std::initializer_list<const char*> path, int64_t fallback) {
  const json* v = Find(object, path);
  return v && v->is_number_integer() ? v->get<int64_t>() : fallback;
}

void DefaultPodSpec(json& spec) {
  if (!spec.is_object()) return;
  Default(spec, {"restartPolicy"}, "Always");
  Default(spec, {"dnsPolicy"}, "ClusterFirst");
  Default(spec, {"terminationGracePeriodSeconds"}, 30);
  Default(spec, {"schedulerName"}, "default-scheduler");
  Default(spec, {"securityContext"}, json::object());
  Default(spec, {"enableServiceLinks"}, true);
  Default(spec, {"priority"}, 0);
  for (const char* list : {"containers", "initContainers"}) {
    auto it = spec.find(list);
    if (it == spec.end() || !it->is_array()) continue;
    for (json& c : *it) {
      if (!c.is_object()) continue;
      const std::string image = c.value("image", "");
      const size_t slash = image.rfind('/');
      const std::string last = slash == std::string::npos ? image : image.substr(slash + 1);
      const bool latest = last.find(':') == std::string::npos || last.ends_with(":latest");
      Default(c, {"imagePullPolicy"}, latest && image.find('@') == std::string::npos ? "Always" : "IfNotPresent");
      Default(c, {"terminationMessagePath"}, "/dev/termination-log");
      Default(c, {"terminationMessagePolicy"}, "File");
      Default(c, {"resources"}, json::object());
      if (auto ports = c.find("ports"); ports != c.end() && ports->is_array()) {
        for (json& p : *ports) {
          if (p.is_object()) Default(p, {"protocol"}, "TCP");
        }
      }
    }
  }
}

void ValidatePodSpec(const json& spec, const std::string& path, std::vector<FieldError>& errors) {
  const json* containers = Find(spec, {"containers"});
  if (!containers || containers->empty()) {
    errors.push_back(Required(path + ".containers"));
    return;
  }
  std::set<std::string> names;
  for (const char* list : {"initContainers", "containers"}) {
    const json* cs = Find(spec, {list});
    if (!cs || !cs->is_array()) continue;
    for (size_t i = 0; i < cs->size(); ++i) {
      const json& c = (*cs)[i];
      const std::string at = fmt::format("{}.{}[{}]", path, list, i);
      const std::string name = c.value("name", "");
      if (name.empty()) {
        errors.push_back(Required(at + ".name"));
      } else if (Status s = ValidateDnsLabel(name); !s.ok()) {
        errors.push_back(InvalidValue(at + ".name", name, s.message()));
      } else if (!names.insert(name).second) {
        errors.push_back(Duplicate(at + ".name", name));
      }
      if (c.value("image", "").empty()) errors.push_back(Required(at + ".image"));
    }
  }
  const std::string restart = StringAt(spec, {"restartPolicy"});
  if (!restart.empty() && restart != "Always" && restart != "OnFailure" && restart != "Never") {
    errors.push_back(NotSupported(path + ".restartPolicy", restart, {"Always", "OnFailure", "Never"}));
  }
}

bool LabelsMatch(const json& selector, const json& labels) {
  const json* match = Find(selector, {"matchLabels"});
  if (match && match->is_object()) {
    for (const auto& [k, v] : match->items()) {
      if (!labels.is_object() || !labels.contains(k) || labels[k] != v) return false;
    }
  }
  const json* exprs = Find(selector, {"matchExpressions"});
  if (exprs && exprs->is_array()) {
    for (const json& e : *exprs) {
      const std::string key = e.value("key", "");
      const std::string op = e.value("operator", "");
      const json values = e.value("values", json::array());
      const bool has = labels.is_object() && labels.contains(key);
      const bool in = has && std::find(values.begin(), values.end(), labels[key]) != values.end();
      if ((op == "In" && !in) || (op == "NotIn" && in) || (op == "Exists" && !has) ||
          (op == "DoesNotExist" && has)) {
        return false;
      }
    }
  }
  return true;
}

void ValidateSelector(const json& object, std::vector<FieldError>& errors) {
  const json* selector = Find(object, {"spec", "selector"});
  const bool empty = !selector || ((!Find(*selector, {"matchLabels"}) || (*selector)["matchLabels"].empty()) &&
                                   (!Find(*selector, {"matchExpressions"}) || (*selector)["matchExpressions"].empty()));
  if (empty) {
    errors.push_back(Required("spec.selector"));
    return;
  }
  const json* labels = Find(object, {"spec", "template", "metadata", "labels"});
  if (!LabelsMatch(*selector, labels ? *labels : json::object())) {
    errors.push_back(InvalidValue("spec.template.metadata.labels",
                                  labels ? *labels : json::object(),
                                  "`selector` does not match template `labels`"));
  }
}

Column AgeColumn() {
  return {"Age", "string", "Time since the object was created.", 0, [](const json& o) -> json {
            std::chrono::system_clock::time_point t;
            if (!ParseTimestamp(StringAt(o, {"metadata", "creationTimestamp"}), &t)) return "<unknown>";
            return HumanDuration(std::chrono::duration_cast<std::chrono::seconds>(
                std::chrono::system_clock::now() - t));
          }};
}

std::string AccessModes(const json& modes) {
  std::string out;
  if (!modes.is_array()) return out;
  for (const json& m : modes) {
    const std::string s = m.is_string() ? m.get<std::string>() : "";
    const char* shortname = s == "ReadWriteOnce" ? "RWO" : s == "ReadOnlyMany" ? "ROX"
                          : s == "ReadWriteMany" ? "RWX" : s == "ReadWriteOncePod" ? "RWOP" : nullptr;
    if (shortname) out += (out.empty() ? "" : ",") + std::string(shortname);
  }
  return out;
}

std::string Or(std::string s, const char* fallback) { return s.empty() ? fallback : s; }

}  // namespace cstor::apiserver::kinds
