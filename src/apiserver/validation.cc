#include "apiserver/validation.h"

#include <regex>

namespace cstor::apiserver {
namespace {

bool Matches(std::string_view s, const std::regex& re) {
  return std::regex_match(s.begin(), s.end(), re);
}

}  // namespace

Status ValidateDnsSubdomain(std::string_view name) {
  static const std::regex kRe(R"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)");
  if (name.empty()) return Status::InvalidArgument("must not be empty");
  if (name.size() > 253) return Status::InvalidArgument("must be no more than 253 characters");
  if (!Matches(name, kRe)) {
    return Status::InvalidArgument(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
        "or '.', and must start and end with an alphanumeric character");
  }
  return Status::Ok();
}

Status ValidateDnsLabel(std::string_view name) {
  static const std::regex kRe(R"([a-z0-9]([-a-z0-9]*[a-z0-9])?)");
  if (name.empty()) return Status::InvalidArgument("must not be empty");
  if (name.size() > 63) return Status::InvalidArgument("must be no more than 63 characters");
  if (!Matches(name, kRe)) {
    return Status::InvalidArgument(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
        "and must start and end with an alphanumeric character");
  }
  return Status::Ok();
}

Status ValidateLabelValue(std::string_view value) {
  static const std::regex kRe(R"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])");
  if (value.empty()) return Status::Ok();
  if (value.size() > 63) return Status::InvalidArgument("must be no more than 63 characters");
  if (!Matches(value, kRe)) {
    return Status::InvalidArgument(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
        "or '.', and must start and end with an alphanumeric character");
  }
  return Status::Ok();
}

Status ValidateLabelKey(std::string_view key) {
  size_t slash = key.find('/');
  std::string_view name = key;
  if (slash != std::string_view::npos) {
    if (Status s = ValidateDnsSubdomain(key.substr(0, slash)); !s.ok()) {
      return Status::InvalidArgument("prefix part " + s.message());
    }
    name = key.substr(slash + 1);
  }
  if (name.empty()) return Status::InvalidArgument("name part must be non-empty");
  if (Status s = ValidateLabelValue(name); !s.ok()) {
    return Status::InvalidArgument("name part " + s.message());
  }
  return Status::Ok();
}

std::vector<FieldError> ValidateObjectMeta(const nlohmann::json& metadata, bool dns_label_name) {
  std::vector<FieldError> errors;
  auto add = [&](std::string field, std::string value, const Status& s) {
    errors.push_back({"FieldValueInvalid", field,
                      field + ": Invalid value: \"" + value + "\": " + s.message()});
  };
  const std::string name = metadata.value("name", "");
  if (name.empty()) {
    errors.push_back({"FieldValueRequired", "metadata.name",
                      "metadata.name: Required value: name or generateName is required"});
  } else if (Status s = dns_label_name ? ValidateDnsLabel(name) : ValidateDnsSubdomain(name);
             !s.ok()) {
    add("metadata.name", name, s);
  }
  if (auto labels = metadata.find("labels"); labels != metadata.end() && !labels->is_null()) {
    if (!labels->is_object()) {
      errors.push_back({"FieldValueTypeInvalid", "metadata.labels",
                        "metadata.labels: Invalid value: must be a map of strings"});
    } else {
      for (const auto& [k, v] : labels->items()) {
        if (Status s = ValidateLabelKey(k); !s.ok()) add("metadata.labels", k, s);
        if (!v.is_string()) {
          add("metadata.labels", k, Status::InvalidArgument("label values must be strings"));
        } else if (Status s2 = ValidateLabelValue(v.get<std::string>()); !s2.ok()) {
          add("metadata.labels", v.get<std::string>(), s2);
        }
      }
    }
  }
  if (auto ann = metadata.find("annotations"); ann != metadata.end() && !ann->is_null()) {
    if (!ann->is_object()) {
      errors.push_back({"FieldValueTypeInvalid", "metadata.annotations",
                        "metadata.annotations: Invalid value: must be a map of strings"});
    } else {
      for (const auto& [k, v] : ann->items()) {
        if (Status s = ValidateLabelKey(k); !s.ok()) add("metadata.annotations", k, s);
        if (!v.is_string()) {
          add("metadata.annotations", k, Status::InvalidArgument("annotation values must be strings"));
        }
      }
    }
  }
  if (auto fin = metadata.find("finalizers"); fin != metadata.end() && !fin->is_null()) {
    bool ok = fin->is_array();
    for (const auto& f : ok ? *fin : nlohmann::json::array()) ok = ok && f.is_string();
    if (!ok) {
      errors.push_back({"FieldValueTypeInvalid", "metadata.finalizers",
                        "metadata.finalizers: Invalid value: must be a list of strings"});
    }
  }
  if (auto refs = metadata.find("ownerReferences"); refs != metadata.end() && !refs->is_null()) {
    bool ok = refs->is_array();
    for (const auto& r : ok ? *refs : nlohmann::json::array()) {
      ok = ok && r.is_object() && r.value("uid", "") != "" && r.value("name", "") != "" &&
           r.value("kind", "") != "" && r.value("apiVersion", "") != "";
    }
    if (!ok) {
      errors.push_back({"FieldValueInvalid", "metadata.ownerReferences",
                        "metadata.ownerReferences: Invalid value: each reference needs apiVersion, "
                        "kind, name and uid"});
    }
  }
  return errors;
}

}  // namespace cstor::apiserver
