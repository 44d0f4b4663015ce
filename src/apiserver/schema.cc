#include "apiserver/schema.h"

#include <regex>

#include <fmt/format.h>

namespace cstor::apiserver {
namespace {

using nlohmann::json;

class Validator {
 public:
  explicit Validator(SchemaResult& out) : out_(out) {}

  void Check(const json& schema, json& value, const std::string& path) {
    if (!schema.is_object()) return;
    if (value.is_null()) {
      if (!schema.value("nullable", false)) {
        Error("FieldValueTypeInvalid", path, "Invalid value: \"null\": must not be null");
      }
      return;
    }
    if (schema.value("x-kubernetes-int-or-string", false)) {
      if (!value.is_string() && !value.is_number_integer()) {
        Error("FieldValueTypeInvalid", path,
              fmt::format("Invalid value: {}: must be an integer or a string", Short(value)));
      }
      return;
    }
    const std::string type = schema.value("type", "");
    if (!type.empty() && !HasType(value, type)) {
      Error("FieldValueTypeInvalid", path,
            fmt::format("Invalid value: \"{}\": {} in body must be of type {}: \"{}\"",
                        TypeName(value), path, type, TypeName(value)));
      return;
    }
    CheckEnum(schema, value, path);
    if (value.is_number()) CheckRange(schema, value, path);
    if (value.is_string()) CheckString(schema, value.get_ref<const std::string&>(), path);
    if (value.is_array()) CheckArray(schema, value, path);
    if (value.is_object()) CheckObject(schema, value, path);
  }

 private:
  static bool HasType(const json& v, const std::string& type) {
    if (type == "object") return v.is_object();
    if (type == "array") return v.is_array();
    if (type == "string") return v.is_string();
    if (type == "integer") return v.is_number_integer();
    if (type == "number") return v.is_number();
    if (type == "boolean") return v.is_boolean();
    return true;
  }

  static std::string TypeName(const json& v) {
    if (v.is_object()) return "object";
    if (v.is_array()) return "array";
    if (v.is_string()) return "string";
    if (v.is_number_integer()) return "integer";
    if (v.is_number()) return "number";
    if (v.is_boolean()) return "boolean";
    return "null";
  }

  static std::string Short(const json& v) {
    std::string s = v.dump();
    return s.size() > 64 ? s.substr(0, 61) + "..." : s;
  }

  void Error(std::string reason, const std::string& path, const std::string& detail) {
    out_.errors.push_back({std::move(reason), path, path + ": " + detail});
  }

  void CheckEnum(const json& schema, const json& value, const std::string& path) {
    auto it = schema.find("enum");
    if (it == schema.end() || !it->is_array()) return;
    for (const auto& allowed : *it) {
      if (allowed == value) return;
    }
    std::string list;
    for (const auto& allowed : *it) list += (list.empty() ? "" : ", ") + allowed.dump();
    Error("FieldValueNotSupported", path,
          fmt::format("Unsupported value: {}: supported values: {}", Short(value), list));
  }

  void CheckRange(const json& schema, const json& value, const std::string& path) {
    double v = value.get<double>();
    if (auto it = schema.find("minimum"); it != schema.end() && v < it->get<double>()) {
      Error("FieldValueInvalid", path,
            fmt::format("Invalid value: {}: {} in body should be greater than or equal to {}",
                        Short(value), path, it->dump()));
    }
    if (auto it = schema.find("maximum"); it != schema.end() && v > it->get<double>()) {
      Error("FieldValueInvalid", path,
            fmt::format("Invalid value: {}: {} in body should be less than or equal to {}",
                        Short(value), path, it->dump()));
    }
  }

  // Lengths are in characters (code points), as Kubernetes counts them, not bytes.
  static size_t Characters(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
    return n;
  }

  void CheckString(const json& schema, const std::string& s, const std::string& path) {
    const size_t chars = Characters(s);
    if (auto it = schema.find("minLength"); it != schema.end() && chars < it->get<size_t>()) {
      Error("FieldValueInvalid", path,
            fmt::format("Invalid value: \"{}\": {} in body should be at least {} chars long", s,
                        path, it->get<size_t>()));
    }
    if (auto it = schema.find("maxLength"); it != schema.end() && chars > it->get<size_t>()) {
      Error("FieldValueTooLong", path,
            fmt::format("Too long: may not be longer than {}", it->get<size_t>()));
    }
    if (auto it = schema.find("pattern"); it != schema.end() && it->is_string()) {
      try {
        if (!std::regex_search(s, std::regex(it->get<std::string>(), std::regex::ECMAScript))) {
          Error("FieldValueInvalid", path,
                fmt::format("Invalid value: \"{}\": {} in body should match '{}'", s, path,
                            it->get<std::string>()));
        }
      } catch (const std::regex_error&) {
        Error("FieldValueInvalid", path, "the schema's pattern is not a valid regular expression");
      }
    }
  }

  void CheckArray(const json& schema, json& value, const std::string& path) {
    if (auto it = schema.find("minItems"); it != schema.end() && value.size() < it->get<size_t>()) {
      Error("FieldValueInvalid", path,
            fmt::format("Invalid value: {}: {} in body should have at least {} items", value.size(),
                        path, it->get<size_t>()));
    }
    if (auto it = schema.find("maxItems"); it != schema.end() && value.size() > it->get<size_t>()) {
      Error("FieldValueTooMany", path,
            fmt::format("Too many: {}: must have at most {} items", value.size(),
                        it->get<size_t>()));
    }
    auto items = schema.find("items");
    if (items == schema.end()) return;
    for (size_t i = 0; i < value.size(); ++i) {
      Check(*items, value[i], fmt::format("{}[{}]", path, i));
    }
  }

  void CheckObject(const json& schema, json& value, const std::string& path) {
    const bool preserve = schema.value("x-kubernetes-preserve-unknown-fields", false);
    auto props = schema.find("properties");
    auto additional = schema.find("additionalProperties");
    // A null where null is not allowed reads as absent (and so takes the default), as
    // Kubernetes treats it. Then defaults, so that a defaulted field is also validated.
    if (props != schema.end()) {
      for (const auto& [name, sub] : props->items()) {
        auto v = value.find(name);
        if (v != value.end() && v->is_null() && sub.is_object() && !sub.value("nullable", false)) {
          value.erase(v);
        }
      }
      for (const auto& [name, sub] : props->items()) {
        if (!value.contains(name) && sub.is_object() && sub.contains("default")) {
          value[name] = sub["default"];
        }
      }
    }
    for (const auto& r : schema.value("required", json::array())) {
      if (r.is_string() && !value.contains(r.get<std::string>())) {
        Error("FieldValueRequired", Join(path, r.get<std::string>()), "Required value");
      }
    }
    std::vector<std::string> unknown;
    for (auto& [name, child] : value.items()) {
      const std::string child_path = Join(path, name);
      if (props != schema.end() && props->contains(name)) {
        if (path.empty() && (name == "metadata" || name == "apiVersion" || name == "kind")) continue;
        Check((*props)[name], child, child_path);
      } else if (additional != schema.end() && additional->is_object()) {
        Check(*additional, child, child_path);
      } else if (path.empty() && (name == "metadata" || name == "apiVersion" || name == "kind")) {
        continue;
      } else if (!preserve && !(additional != schema.end() && *additional == true)) {
        unknown.push_back(name);
        out_.unknown_fields.push_back(child_path);
      }
    }
    for (const auto& name : unknown) value.erase(name);
  }

  static std::string Join(const std::string& path, const std::string& name) {
    return path.empty() ? name : path + "." + name;
  }

  SchemaResult& out_;
};

}  // namespace

SchemaResult ValidateAndPrune(const nlohmann::json& schema, nlohmann::json& object) {
  SchemaResult result;
  Validator(result).Check(schema, object, "");
  return result;
}

}  // namespace cstor::apiserver
