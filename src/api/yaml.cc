#include "api/yaml.h"

#include <charconv>
#include <algorithm>

#include <yaml-cpp/yaml.h>

namespace cstor::api {
namespace {

using nlohmann::json;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Scanners for the core schema's number forms; each returns where its match ends.
size_t Digits(const std::string& s, size_t i) {
  while (i < s.size() && IsDigit(s[i])) ++i;
  return i;
}
size_t Sign(const std::string& s, size_t i) {
  return i < s.size() && (s[i] == '-' || s[i] == '+') ? i + 1 : i;
}
bool IsInt(const std::string& s) {  // [-+]?[0-9]+
  size_t b = Sign(s, 0);
  return Digits(s, b) == s.size() && s.size() > b;
}
bool IsHex(const std::string& s) {  // 0x[0-9a-fA-F]+
  if (s.size() < 3 || s[0] != '0' || s[1] != 'x') return false;
  return std::all_of(s.begin() + 2, s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}
bool IsFloat(const std::string& s) {  // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
  size_t i = Sign(s, 0);
  size_t int_end = Digits(s, i);
  bool mantissa = int_end > i;
  i = int_end;
  if (i < s.size() && s[i] == '.') {
    size_t frac_end = Digits(s, i + 1);
    mantissa = mantissa || frac_end > i + 1;
    i = frac_end;
  }
  if (!mantissa) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    size_t b = Sign(s, i + 1);
    size_t e = Digits(s, b);
    if (e == b) return false;
    i = e;
  }
  return i == s.size();
}

// YAML 1.2 core schema resolution of a plain (unquoted) scalar.
json PlainScalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (IsInt(s)) {
    int64_t v = 0;
    const char* begin = s.data() + (s[0] == '+' ? 1 : 0);
    auto [end, ec] = std::from_chars(begin, s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size()) return v;
    return s;  // out of range for int64: keep the text
  }
  if (IsHex(s)) {
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), v, 16);
    if (ec == std::errc() && end == s.data() + s.size() && v <= INT64_MAX) return static_cast<int64_t>(v);
    return s;  // beyond int64: keep the text
  }
  if (IsFloat(s)) {
    double v = 0;
    const char* begin = s.data() + (s[0] == '+' ? 1 : 0);  // from_chars takes no '+'
    auto [end, ec] = std::from_chars(begin, s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size()) return v;
    return s;  // out of a double's range: keep the text
  }
  return s;
}

// Aliases let a few lines of YAML name an exponential number of nodes ("billion laughs");
// converting stops at this many (far more than any manifest or kubeconfig has).
constexpr size_t kMaxNodes = 100'000;

struct TooLarge : std::exception {
  const char* what() const noexcept override {
    return "the YAML expands to more than 100,000 nodes or nests deeper than 512";
  }
};

// Nesting deeper than this is refused; an alias inside its own anchor nests forever.
constexpr int kMaxDepth = 512;

json ToJson(const YAML::Node& node, size_t& budget, int depth = 0) {
  if (budget == 0 || depth > kMaxDepth) throw TooLarge();
  --budget;
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      // yaml-cpp tags plain scalars "?" and quoted or block scalars "!".
      return node.Tag() == "?" ? PlainScalar(node.Scalar()) : json(node.Scalar());
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(ToJson(item, budget, depth + 1));
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) {
        std::string key = kv.first.as<std::string>();
        out[key] = ToJson(kv.second, budget, depth + 1);
      }
      return out;
    }
  }
  return nullptr;
}

void Emit(YAML::Emitter& out, const json& v) {
  if (v.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [k, item] : v.items()) {
      out << YAML::Key << k << YAML::Value;
      Emit(out, item);
    }
    out << YAML::EndMap;
  } else if (v.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& item : v) Emit(out, item);
    out << YAML::EndSeq;
  } else if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    // Quote strings a reader would otherwise take for another type.
    if (!PlainScalar(s).is_string()) {
      out << YAML::DoubleQuoted << s;
    } else {
      out << s;
    }
  } else if (v.is_null()) {
    out << YAML::Null;
  } else {
    out << v.dump();
  }
}

}  // namespace

Result<std::vector<nlohmann::json>> ParseYamlDocuments(std::string_view text) {
  try {
    std::vector<json> docs;
    size_t budget = kMaxNodes;
    for (const YAML::Node& doc : YAML::LoadAll(std::string(text))) {
      if (doc.IsNull()) continue;
      docs.push_back(ToJson(doc, budget));
      // JSON text must be UTF-8; refuse here what could not be written out later.
      try {
        (void)docs.back().dump();
      } catch (const nlohmann::json::type_error&) {
        return Status::InvalidArgument("malformed YAML: not valid UTF-8");
      }
    }
    return docs;
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("malformed YAML: " + std::string(e.what()));
  } catch (const TooLarge& e) {
    return Status::InvalidArgument(e.what());
  }
}

Result<nlohmann::json> ParseYaml(std::string_view text) {
  auto docs = ParseYamlDocuments(text);
  if (!docs.ok()) return docs.status();
  if (docs->size() != 1) {
    return Status::InvalidArgument("expected one YAML document, found " +
                                   std::to_string(docs->size()));
  }
  return std::move(docs->front());
}

std::string ToYaml(const nlohmann::json& value) {
  YAML::Emitter out;
  Emit(out, value);
  return std::string(out.c_str()) + "\n";
}

}  // namespace cstor::api
