#include "apiserver/managed_fields.h"

#include <algorithm>

namespace cstor::apiserver {
namespace {

using nlohmann::json;

// Server-owned metadata: never a manager's.
bool ServerOwned(const FieldPath& p) {
  if (p.size() == 1) return p[0] == "f:apiVersion" || p[0] == "f:kind";
  if (p.size() >= 2 && p[0] == "f:metadata") {
    static const std::set<std::string> kOwned = {
        "f:name", "f:namespace", "f:uid", "f:resourceVersion", "f:generation", "f:creationTimestamp",
        "f:deletionTimestamp", "f:deletionGracePeriodSeconds", "f:managedFields", "f:selfLink"};
    return kOwned.count(p[1]) > 0;
  }
  return false;
}

bool InScope(const FieldPath& p, const FieldScope& scope) {
  if (p.empty()) return true;
  const bool is_status = p[0] == "f:status";
  if (scope.status) return is_status;
  return !(is_status && scope.status_subresource);
}

const std::string* MergeKey(const FieldScope& scope, const std::string& schema_path) {
  if (scope.schema == nullptr) return nullptr;
  auto it = scope.schema->merge_keys.find(schema_path);
  return it == scope.schema->merge_keys.end() ? nullptr : &it->second;
}

std::string Join(const std::string& schema_path, const std::string& field) {
  return schema_path.empty() ? field : schema_path + "." + field;
}

void Walk(const json& v, const std::string& schema_path, FieldPath& path, FieldSet& out, const FieldScope& scope) {
  if (v.is_object() && !v.empty()) {
    for (const auto& [k, child] : v.items()) {
      path.push_back("f:" + k);
      if (!ServerOwned(path) && InScope(path, scope)) Walk(child, Join(schema_path, k), path, out, scope);
      path.pop_back();
    }
    return;
  }
  const std::string* key = v.is_array() ? MergeKey(scope, schema_path) : nullptr;
  if (key != nullptr && !v.empty()) {
    for (const json& item : v) {
      if (key->empty()) {
        path.push_back("v:" + item.dump());
        out.insert(path);
      } else {
        if (!item.is_object() || !item.contains(*key)) continue;
        path.push_back("k:" + json{{*key, item[*key]}}.dump());
        out.insert(path);  // the item itself
        Walk(item, schema_path + "[]", path, out, scope);
      }
      path.pop_back();
    }
    return;
  }
  if (!path.empty()) out.insert(path);
}

// The value at `path` in `root`, or null.
const json* At(const json& root, const FieldPath& path) {
  const json* cur = &root;
  for (const std::string& elem : path) {
    const std::string body = elem.substr(2);
    if (elem.starts_with("f:")) {
      if (!cur->is_object()) return nullptr;
      auto it = cur->find(body);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else if (elem.starts_with("k:") || elem.starts_with("v:")) {
      if (!cur->is_array()) return nullptr;
      const json want = json::parse(body, nullptr, false);
      const json* found = nullptr;
      for (const json& item : *cur) {
        bool match = elem[0] == 'v' ? item == want : item.is_object();
        if (elem[0] == 'k' && match) {
          for (const auto& [k, val] : want.items()) match = match && item.contains(k) && item[k] == val;
        }
        if (match) {
          found = &item;
          break;
        }
      }
      if (found == nullptr) return nullptr;
      cur = found;
    } else {
      return nullptr;
    }
  }
  return cur;
}

void Erase(json& root, const FieldPath& path) {
  if (path.empty()) return;
  FieldPath parent_path(path.begin(), path.end() - 1);
  json* parent = const_cast<json*>(At(root, parent_path));
  if (parent == nullptr) return;
  const json* target = At(root, path);
  if (target == nullptr) return;
  if (parent->is_object()) {
    parent->erase(path.back().substr(2));
  } else if (parent->is_array()) {
    for (auto it = parent->begin(); it != parent->end(); ++it) {
      if (&*it == target) {
        parent->erase(it);
        break;
      }
    }
  }
}

// `config` merged into `live`: maps field by field, keyed lists item by item (new items
// appended), sets as sets, anything else replaced.
json MergeApplied(const json& live, const json& config, const std::string& schema_path, const FieldScope& scope) {
  if (live.is_object() && config.is_object()) {
    json out = live;
    for (const auto& [k, v] : config.items()) {
      auto it = live.find(k);
      out[k] = it == live.end() ? v : MergeApplied(*it, v, Join(schema_path, k), scope);
    }
    return out;
  }
  const std::string* key = MergeKey(scope, schema_path);
  if (key != nullptr && live.is_array() && config.is_array()) {
    json out = live;
    for (const json& item : config) {
      json* match = nullptr;
      for (json& have : out) {
        if (key->empty() ? have == item
                         : item.is_object() && have.is_object() && item.contains(*key) && have.contains(*key) &&
                               have[*key] == item[*key]) {
          match = &have;
          break;
        }
      }
      if (match == nullptr) {
        out.push_back(item);
      } else if (!key->empty()) {
        *match = MergeApplied(*match, item, schema_path + "[]", scope);
      }
    }
    return out;
  }
  return config;
}

bool IsItem(const FieldPath& p) { return !p.empty() && (p.back().starts_with("k:") || p.back().starts_with("v:")); }

bool SameEntry(const ManagedEntry& e, const std::string& manager, const std::string& operation,
               const std::string& subresource) {
  return e.manager == manager && e.operation == operation && e.subresource == subresource;
}

}  // namespace

FieldSet FieldsOf(const json& obj, const FieldScope& scope) {
  FieldSet out;
  FieldPath path;
  Walk(obj, "", path, out, scope);
  return out;
}

json EncodeFieldsV1(const FieldSet& fields) {
  json root = json::object();
  for (const FieldPath& p : fields) {
    json* node = &root;
    for (const std::string& elem : p) {
      if (!node->contains(elem)) (*node)[elem] = json::object();
      node = &(*node)[elem];
    }
  }
  // A member that also has members of its own says so with ".".
  for (const FieldPath& p : fields) {
    json* node = &root;
    for (const std::string& elem : p) node = &(*node)[elem];
    if (!node->empty() && !node->contains(".")) (*node)["."] = json::object();
  }
  return root;
}

namespace {
void Decode(const json& node, FieldPath& path, FieldSet& out) {
  if (!node.is_object()) return;
  for (const auto& [k, child] : node.items()) {
    if (k == ".") {
      if (!path.empty()) out.insert(path);
      continue;
    }
    path.push_back(k);
    if (child.is_object() && child.empty()) {
      out.insert(path);
    } else {
      Decode(child, path, out);
    }
    path.pop_back();
  }
}
}  // namespace

FieldSet DecodeFieldsV1(const json& fields_v1) {
  FieldSet out;
  FieldPath path;
  Decode(fields_v1, path, out);
  return out;
}

std::string PathString(const FieldPath& path) {
  std::string out;
  for (const std::string& elem : path) {
    const std::string body = elem.substr(2);
    if (elem.starts_with("f:")) {
      out += "." + body;
    } else if (elem.starts_with("k:")) {
      const json key = json::parse(body, nullptr, false);
      std::string parts;
      if (key.is_object()) {
        for (const auto& [k, v] : key.items()) parts += (parts.empty() ? "" : ",") + k + "=" + v.dump();
      }
      out += "[" + parts + "]";
    } else {
      out += "[=" + body + "]";
    }
  }
  return out;
}

std::vector<ManagedEntry> ReadManagedFields(const json& obj) {
  std::vector<ManagedEntry> out;
  const json* meta = obj.is_object() && obj.contains("metadata") ? &obj["metadata"] : nullptr;
  if (meta == nullptr || !meta->is_object() || !meta->contains("managedFields") || !(*meta)["managedFields"].is_array()) {
    return out;
  }
  for (const json& e : (*meta)["managedFields"]) {
    if (!e.is_object()) continue;
    ManagedEntry m;
    m.manager = e.value("manager", "");
    m.operation = e.value("operation", "");
    m.api_version = e.value("apiVersion", "");
    m.time = e.value("time", "");
    m.subresource = e.value("subresource", "");
    if (e.contains("fieldsV1")) m.fields = DecodeFieldsV1(e["fieldsV1"]);
    out.push_back(std::move(m));
  }
  return out;
}

void WriteManagedFields(json& obj, const std::vector<ManagedEntry>& entries) {
  json list = json::array();
  for (const ManagedEntry& e : entries) {
    if (e.fields.empty()) continue;
    json entry = {{"manager", e.manager}, {"operation", e.operation}, {"apiVersion", e.api_version},
                  {"time", e.time}, {"fieldsType", "FieldsV1"}, {"fieldsV1", EncodeFieldsV1(e.fields)}};
    if (!e.subresource.empty()) entry["subresource"] = e.subresource;
    list.push_back(std::move(entry));
  }
  if (list.empty()) {
    obj["metadata"].erase("managedFields");
  } else {
    obj["metadata"]["managedFields"] = std::move(list);
  }
}

void RecordUpdate(const json* old, json& next, const std::string& manager, const std::string& api_version,
                  const FieldScope& scope, const std::string& now) {
  json& meta = next["metadata"];
  std::vector<ManagedEntry> entries;
  if (meta.contains("managedFields")) {
    // The request sets them: [] clears them, anything else replaces them.
    if (meta["managedFields"].is_array() && meta["managedFields"].empty()) {
      meta.erase("managedFields");
      return;
    }
    entries = ReadManagedFields(next);
  } else if (old != nullptr) {
    entries = ReadManagedFields(*old);
  }
  const std::string sub = scope.status ? "status" : "";
  const FieldSet now_fields = FieldsOf(next, scope);
  FieldSet changed;
  for (const FieldPath& p : now_fields) {
    const json* before = old ? At(*old, p) : nullptr;
    if (before == nullptr || (!IsItem(p) && *before != *At(next, p))) changed.insert(p);
  }
  bool mine = false;
  for (ManagedEntry& e : entries) {
    if (e.subresource != sub) continue;
    if (SameEntry(e, manager, "Update", sub)) {
      mine = true;
      e.fields.insert(changed.begin(), changed.end());
      if (!changed.empty()) {
        e.time = now;
        e.api_version = api_version;
      }
    } else {
      for (const FieldPath& p : changed) e.fields.erase(p);
    }
    std::erase_if(e.fields, [&](const FieldPath& p) { return !now_fields.count(p); });
  }
  if (!mine && !changed.empty()) entries.push_back({manager, "Update", api_version, now, sub, changed});
  WriteManagedFields(next, entries);
}

json Apply(const json* live, const json& config, const std::string& manager, bool force, const std::string& api_version,
           const FieldScope& scope, const std::string& now, std::vector<ApplyConflict>& conflicts) {
  const std::string sub = scope.status ? "status" : "";
  std::vector<ManagedEntry> entries = live ? ReadManagedFields(*live) : std::vector<ManagedEntry>{};
  json base = live ? *live : json{{"apiVersion", config.value("apiVersion", "")},
                                  {"kind", config.value("kind", "")},
                                  {"metadata", json::object()}};
  const FieldSet applied = FieldsOf(config, scope);

  // Conflicts: a value this configuration changes, owned by someone else.
  FieldSet taken;
  for (const FieldPath& p : applied) {
    const json* have = At(base, p);
    if (have == nullptr || IsItem(p) || *have == *At(config, p)) continue;
    for (const ManagedEntry& e : entries) {
      if (e.subresource != sub || SameEntry(e, manager, "Apply", sub) || !e.fields.count(p)) continue;
      conflicts.push_back({e.manager, PathString(p)});
      taken.insert(p);
    }
  }
  if (!conflicts.empty() && !force) return nullptr;
  conflicts.clear();

  // Removal: what this manager applied before and applies no more, unless shared.
  FieldSet before;
  for (const ManagedEntry& e : entries) {
    if (SameEntry(e, manager, "Apply", sub)) before = e.fields;
  }
  auto within = [](const FieldPath& outer, const FieldPath& inner) {
    return inner.size() >= outer.size() && std::equal(outer.begin(), outer.end(), inner.begin());
  };
  std::vector<FieldPath> erased;
  for (const FieldPath& p : before) {  // a list item before its fields
    if (applied.count(p)) continue;
    if (std::any_of(erased.begin(), erased.end(), [&](const FieldPath& e) { return within(e, p); })) continue;
    // Kept when another manager owns it or anything in it, or this configuration still
    // applies something in it.
    const bool shared = std::any_of(entries.begin(), entries.end(), [&](const ManagedEntry& e) {
      return e.subresource == sub && !SameEntry(e, manager, "Apply", sub) &&
             std::any_of(e.fields.begin(), e.fields.end(), [&](const FieldPath& q) { return within(p, q); });
    });
    const bool holds_applied =
        std::any_of(applied.begin(), applied.end(), [&](const FieldPath& q) { return within(p, q); });
    if (shared || holds_applied) continue;
    Erase(base, p);
    erased.push_back(p);
  }

  json merge_config = config;
  for (const char* k : {"apiVersion", "kind"}) merge_config.erase(k);
  if (merge_config.contains("metadata") && merge_config["metadata"].is_object()) {
    for (const char* k : {"resourceVersion", "uid", "managedFields", "creationTimestamp", "generation",
                          "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"}) {
      merge_config["metadata"].erase(k);
    }
  }
  if (scope.status) {
    merge_config = json{{"status", config.value("status", json::object())}};
  } else if (scope.status_subresource) {
    merge_config.erase("status");
  }
  json result = MergeApplied(base, merge_config, "", scope);

  const FieldSet result_fields = FieldsOf(result, scope);
  bool found = false;
  for (ManagedEntry& e : entries) {
    if (e.subresource != sub) continue;
    if (SameEntry(e, manager, "Apply", sub)) {
      found = true;
      e.fields = applied;
      e.time = now;
      e.api_version = api_version;
    } else {
      for (const FieldPath& p : taken) e.fields.erase(p);
      std::erase_if(e.fields, [&](const FieldPath& p) { return !result_fields.count(p); });
    }
  }
  if (!found && !applied.empty()) entries.push_back({manager, "Apply", api_version, now, sub, applied});
  WriteManagedFields(result, entries);
  return result;
}

}  // namespace cstor::apiserver
