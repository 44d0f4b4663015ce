#include "apiserver/strategic_merge.h"

#include <algorithm>

#include <fmt/format.h>

namespace cstor::apiserver {
namespace {

using nlohmann::json;

constexpr std::string_view kPatch = "$patch";
constexpr std::string_view kRetainKeys = "$retainKeys";
constexpr std::string_view kDeleteFromPrimitiveList = "$deleteFromPrimitiveList/";
constexpr std::string_view kSetElementOrder = "$setElementOrder/";

struct Bad : std::exception {
  std::string message;
  explicit Bad(std::string m) : message(std::move(m)) {}
};

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

class Merger {
 public:
  explicit Merger(const MergeSchema& schema) : schema_(schema) {}

  // Merges `patch` into `original` (both maps) at `path`; false when the patch deletes
  // the map itself.
  bool MergeMap(json& original, const json& patch, const std::string& path) {
    if (!patch.is_object()) throw Bad(fmt::format("{}: a patch of a map must be a map", Or(path)));
    json directives = json::object();
    json fields = json::object();
    for (const auto& [k, v] : patch.items()) {
      (k.starts_with("$") ? directives : fields)[k] = v;
    }
    if (auto it = directives.find(kPatch); it != directives.end()) {
      const std::string what = it->is_string() ? it->get<std::string>() : "";
      if (what == "delete") return false;
      if (what == "replace") {
        original = Clean(fields);
        return true;
      }
      if (what != "merge") throw Bad(fmt::format("{}: unknown $patch directive {}", Or(path), it->dump()));
    }
    if (!original.is_object()) original = json::object();
    for (const auto& [k, v] : directives.items()) {
      if (k == kPatch || k == kRetainKeys) continue;
      if (k.starts_with(kDeleteFromPrimitiveList)) {
        DeleteFromList(original, k.substr(kDeleteFromPrimitiveList.size()), v, path);
      } else if (!k.starts_with(kSetElementOrder)) {
        throw Bad(fmt::format("{}: unknown directive \"{}\"", Or(path), k));
      }
    }
    for (const auto& [k, v] : fields.items()) {
      const std::string child = Join(path, k);
      if (v.is_null()) {
        original.erase(k);
      } else if (v.is_object() && original.contains(k) && original[k].is_object()) {
        if (!MergeMap(original[k], v, child)) original.erase(k);
      } else if (v.is_object()) {
        json fresh = json::object();
        if (MergeMap(fresh, v, child)) original[k] = std::move(fresh);
      } else if (v.is_array() && schema_.merge_keys.count(child) != 0) {
        json merged = original.contains(k) && original[k].is_array() ? original[k] : json::array();
        MergeList(merged, v, child);
        original[k] = std::move(merged);
      } else {
        original[k] = Clean(v);
      }
    }
    for (const auto& [k, v] : directives.items()) {
      if (k.starts_with(kSetElementOrder)) Order(original, k.substr(kSetElementOrder.size()), v, path);
    }
    if (auto it = directives.find(kRetainKeys); it != directives.end()) {
      if (!it->is_array()) throw Bad(fmt::format("{}: $retainKeys must be a list", Or(path)));
      for (auto f = original.begin(); f != original.end();) {
        if (std::find(it->begin(), it->end(), f.key()) == it->end()) {
          f = original.erase(f);
        } else {
          ++f;
        }
      }
    }
    return true;
  }

 private:
  static std::string Or(const std::string& path) { return path.empty() ? "<root>" : path; }

  // A value taken whole from the patch keeps no directives.
  static json Clean(const json& v) {
    if (v.is_object()) {
      json out = json::object();
      for (const auto& [k, x] : v.items()) {
        if (!k.starts_with("$")) out[k] = Clean(x);
      }
      return out;
    }
    if (v.is_array()) {
      json out = json::array();
      for (const json& x : v) out.push_back(Clean(x));
      return out;
    }
    return v;
  }

  void MergeList(json& original, const json& patch, const std::string& path) {
    const std::string& key = schema_.merge_keys.at(path);
    // {"$patch": "replace"} anywhere in the list: the patch's other items are the list.
    for (const json& item : patch) {
      if (item.is_object() && item.size() == 1 && item.value(std::string(kPatch), "") == "replace") {
        json out = json::array();
        for (const json& x : patch) {
          if (&x != &item) out.push_back(Clean(x));
        }
        original = std::move(out);
        return;
      }
    }
    if (key.empty()) {  // a set of scalars
      for (const json& item : patch) {
        if (item.is_object() || item.is_array()) throw Bad(fmt::format("{}: expected a list of scalars", path));
        if (std::find(original.begin(), original.end(), item) == original.end()) original.push_back(item);
      }
      return;
    }
    for (const json& item : patch) {
      if (!item.is_object() || !item.contains(key)) {
        throw Bad(fmt::format("{}: map: {} does not contain declared merge key: {}", path, item.dump(), key));
      }
      auto match = std::find_if(original.begin(), original.end(), [&](const json& o) {
        return o.is_object() && o.contains(key) && o[key] == item[key];
      });
      const std::string what = item.value(std::string(kPatch), "");
      if (what == "delete") {
        if (match != original.end()) original.erase(match);
        continue;
      }
      if (what == "replace") {
        json clean = Clean(item);
        if (match != original.end()) {
          *match = std::move(clean);
        } else {
          original.push_back(std::move(clean));
        }
        continue;
      }
      if (match != original.end()) {
        if (!MergeMap(*match, item, path + "[]")) original.erase(match);
      } else {
        json fresh = json::object();
        if (MergeMap(fresh, item, path + "[]")) original.push_back(std::move(fresh));
      }
    }
  }

  static void DeleteFromList(json& original, const std::string& field, const json& values,
                             const std::string& path) {
    if (!values.is_array()) throw Bad(fmt::format("{}: $deleteFromPrimitiveList/{} must be a list", Or(path), field));
    if (!original.contains(field) || !original[field].is_array()) return;
    json kept = json::array();
    for (const json& v : original[field]) {
      if (std::find(values.begin(), values.end(), v) == values.end()) kept.push_back(v);
    }
    original[field] = std::move(kept);
  }

  // Items named in `order` come first in that order; the rest keep their places after.
  void Order(json& original, const std::string& field, const json& order, const std::string& path) {
    if (!order.is_array()) throw Bad(fmt::format("{}: $setElementOrder/{} must be a list", Or(path), field));
    if (!original.contains(field) || !original[field].is_array()) return;
    auto key_it = schema_.merge_keys.find(Join(path, field));
    const std::string key = key_it == schema_.merge_keys.end() ? "" : key_it->second;
    auto id = [&](const json& item) -> json {
      if (key.empty()) return item;
      return item.is_object() && item.contains(key) ? item[key] : json();
    };
    json& list = original[field];
    json sorted = json::array();
    std::vector<bool> used(list.size(), false);
    for (const json& want : order) {
      const json wanted = key.empty() ? want : (want.is_object() && want.contains(key) ? want[key] : json());
      for (size_t i = 0; i < list.size(); ++i) {
        if (!used[i] && id(list[i]) == wanted) {
          sorted.push_back(list[i]);
          used[i] = true;
          break;
        }
      }
    }
    for (size_t i = 0; i < list.size(); ++i) {
      if (!used[i]) sorted.push_back(list[i]);
    }
    list = std::move(sorted);
  }

  const MergeSchema& schema_;
};

}  // namespace

MergeSchema& MergeSchema::Merge(const std::string& path, const std::string& key) {
  merge_keys[path] = key;
  return *this;
}

MergeSchema& MergeSchema::WithObjectMeta() {
  return Merge("metadata.finalizers").Merge("metadata.ownerReferences", "uid");
}

MergeSchema& MergeSchema::WithPodSpec(const std::string& prefix) {
  for (const char* list : {"containers", "initContainers", "ephemeralContainers"}) {
    const std::string c = prefix + "." + list;
    Merge(c, "name");
    Merge(c + "[].env", "name");
    Merge(c + "[].ports", "containerPort");
    Merge(c + "[].volumeMounts", "mountPath");
    Merge(c + "[].volumeDevices", "devicePath");
  }
  Merge(prefix + ".volumes", "name");
  Merge(prefix + ".imagePullSecrets", "name");
  Merge(prefix + ".hostAliases", "ip");
  Merge(prefix + ".topologySpreadConstraints", "topologyKey");
  Merge(prefix + ".resourceClaims", "name");
  return *this;
}

Result<nlohmann::json> StrategicMerge(const nlohmann::json& original, const nlohmann::json& patch,
                                      const MergeSchema& schema) {
  json out = original;
  try {
    Merger m(schema);
    if (!m.MergeMap(out, patch, "")) return Status::InvalidArgument("the patch deletes the whole object");
  } catch (const Bad& e) {
    return Status::InvalidArgument(e.message);
  }
  return out;
}

}  // namespace cstor::apiserver
