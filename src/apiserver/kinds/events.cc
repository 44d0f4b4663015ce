// events.k8s.io/v1 Events: the core/v1 Events, served under the newer names. A real
// server stores one copy and converts, so an Event written through either group is read
// through both, with one resourceVersion. Field correspondences (served <- stored):
//   regarding <- involvedObject, note <- message, reportingController <- reportingComponent,
//   deprecatedSource <- source, deprecatedFirstTimestamp <- firstTimestamp,
//   deprecatedLastTimestamp <- lastTimestamp, deprecatedCount <- count;
//   eventTime, series, action, reason, related, reportingInstance, type are the same.
#include "apiserver/kinds/helpers.h"
#include "apiserver/kinds/kinds.h"

#include <fmt/format.h>

namespace cstor::apiserver::kinds {

namespace {

constexpr std::pair<const char*, const char*> kRenamed[] = {
    {"regarding", "involvedObject"},
    {"note", "message"},
    {"reportingController", "reportingComponent"},
    {"deprecatedSource", "source"},
    {"deprecatedFirstTimestamp", "firstTimestamp"},
    {"deprecatedLastTimestamp", "lastTimestamp"},
    {"deprecatedCount", "count"},
};
constexpr const char* kSame[] = {"eventTime", "series", "action", "reason", "related", "reportingInstance", "type"};

// Copies the fields each shape knows from `in`, renamed; anything else is dropped, as a
// typed decoder drops it.
json Convert(const json& in, const char* api_version, bool to_served) {
  json out = {{"apiVersion", api_version}, {"kind", "Event"}};
  if (in.contains("metadata")) out["metadata"] = in["metadata"];
  for (const auto& [served, stored] : kRenamed) {
    const char* from = to_served ? stored : served;
    const char* to = to_served ? served : stored;
    if (auto it = in.find(from); it != in.end()) out[to] = *it;
  }
  for (const char* field : kSame) {
    if (auto it = in.find(field); it != in.end()) out[field] = *it;
  }
  return out;
}

// The rules kube-apiserver adds for an Event created through events.k8s.io/v1: the newer
// fields are required there.
std::vector<FieldError> ValidateCreate(const json& e) {
  std::vector<FieldError> errors;
  auto text = [&](const char* field) {
    auto it = e.find(field);
    return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (text("eventTime").empty()) errors.push_back(Required("eventTime"));
  for (const char* field : {"reportingController", "reportingInstance", "action", "reason"}) {
    const std::string v = text(field);
    if (v.empty()) {
      errors.push_back(Required(field));
    } else if (v.size() > 128) {
      errors.push_back(InvalidValue(field, "", "can have at most 128 characters"));
    }
  }
  if (const std::string type = text("type"); type != "Normal" && type != "Warning") {
    errors.push_back(NotSupported("type", type, {"Normal", "Warning"}));
  }
  if (text("note").size() > 1024) errors.push_back(InvalidValue("note", "", "can have at most 1024 bytes"));
  return errors;
}

}  // namespace

ResourceDef EventsV1(const ResourceDef& core_events) {
  ResourceDef d = core_events;
  d.group = "events.k8s.io";
  d.short_names = {};
  auto conv = std::make_shared<Conversion>();
  conv->storage_key = core_events.StorageKey();
  conv->to_served = [](const json& stored) { return Convert(stored, "events.k8s.io/v1", true); };
  conv->to_stored = [](const json& served) { return Convert(served, "v1", false); };
  conv->validate_create = ValidateCreate;
  conv->served_fields = {"apiVersion", "kind", "metadata"};
  for (const auto& [served, stored] : kRenamed) conv->served_fields.push_back(served);
  for (const char* field : kSame) conv->served_fields.push_back(field);
  d.selectable_fields = {"reason", "reportingController", "type"};
  conv->field_labels = {{"reportingController", "reportingComponent"}};
  for (const char* f : {"kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"}) {
    d.selectable_fields.push_back(fmt::format("regarding.{}", f));
    conv->field_labels[fmt::format("regarding.{}", f)] = fmt::format("involvedObject.{}", f);
  }
  d.conversion = std::move(conv);
  return d;
}

}  // namespace cstor::apiserver::kinds
