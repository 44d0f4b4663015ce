#include "apiserver/registry.h"

#include "apiserver/kinds/kinds.h"

namespace cstor::apiserver {

namespace {

// The lists a CRD's schema declares mergeable (x-kubernetes-list-type: map with one key,
// or set); every other list is atomic, as a real server treats them in server-side apply.
void ListTypes(const nlohmann::json& schema, const std::string& path, MergeSchema& out) {
  if (!schema.is_object()) return;
  if (auto props = schema.find("properties"); props != schema.end() && props->is_object()) {
    for (const auto& [name, sub] : props->items()) ListTypes(sub, path.empty() ? name : path + "." + name, out);
  }
  if (auto items = schema.find("items"); items != schema.end() && !path.empty()) {
    const std::string type = schema.value("x-kubernetes-list-type", "");
    const nlohmann::json keys = schema.value("x-kubernetes-list-map-keys", nlohmann::json::array());
    if (type == "set") out.Merge(path);
    if (type == "map" && keys.size() == 1 && keys[0].is_string()) out.Merge(path, keys[0].get<std::string>());
    ListTypes(*items, path + "[]", out);
  }
}

// A custom resource's strategy: the base one, with its schema's mergeable lists.
class CustomStrategy : public Strategy {
 public:
  explicit CustomStrategy(MergeSchema merges) : merges_(std::move(merges)) {}
  const MergeSchema& Merges() const override { return merges_; }

 private:
  MergeSchema merges_;
};

}  // namespace

Registry::Registry() {
  for (auto group : {kinds::Core(), kinds::Workloads(), kinds::Storage(), kinds::Cluster()}) {
    for (ResourceDef& d : group) {
      std::string key = d.Key();  // before d is moved from
      by_key_[key] = std::make_shared<const ResourceDef>(std::move(d));
    }
  }
  ResourceDef events = kinds::EventsV1(*by_key_.at("/events"));
  const std::string key = events.Key();  // before events is moved from
  by_key_[key] = std::make_shared<const ResourceDef>(std::move(events));
}

ResourceDefPtr Registry::Find(const std::string& group, const std::string& version,
                              const std::string& plural) const {
  auto it = by_key_.find(group + "/" + plural);
  if (it == by_key_.end() || it->second->version != version) return nullptr;
  return it->second;
}

ResourceDefPtr Registry::FindByStorageKey(const std::string& key) const {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : it->second;
}

std::vector<ResourceDefPtr> Registry::All() const {
  std::vector<ResourceDefPtr> out;
  for (const auto& entry : by_key_) out.push_back(entry.second);
  return out;
}

Result<ResourceDef> Registry::FromCrd(const nlohmann::json& crd) {
  const nlohmann::json& spec = crd.value("spec", nlohmann::json::object());
  const nlohmann::json& names = spec.value("names", nlohmann::json::object());
  ResourceDef d;
  d.custom = true;
  d.group = spec.value("group", "");
  d.kind = names.value("kind", "");
  d.plural = names.value("plural", "");
  d.singular = names.value("singular", "");
  d.list_kind = names.value("listKind", d.kind + "List");
  if (d.singular.empty()) {
    d.singular = d.kind;
    for (char& c : d.singular) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  for (const auto& s : names.value("shortNames", nlohmann::json::array())) {
    if (s.is_string()) d.short_names.push_back(s);
  }
  d.namespaced = spec.value("scope", "") == "Namespaced";
  if (d.group.empty() || d.kind.empty() || d.plural.empty()) {
    return Status::InvalidArgument("spec.group, spec.names.kind and spec.names.plural are required");
  }
  std::string expected = d.plural + "." + d.group;
  if (crd.value("metadata", nlohmann::json::object()).value("name", "") != expected) {
    return Status::InvalidArgument("metadata.name must be spec.names.plural+\".\"+spec.group (\"" +
                                   expected + "\")");
  }
  for (const auto& v : spec.value("versions", nlohmann::json::array())) {
    if (!v.value("storage", false)) continue;
    if (!v.value("served", false)) return Status::InvalidArgument("the storage version must be served");
    d.version = v.value("name", "");
    d.schema = v.value("schema", nlohmann::json::object())
                   .value("openAPIV3Schema", nlohmann::json::object());
    d.status_subresource =
        v.value("subresources", nlohmann::json::object()).contains("status");
    d.printer_columns = v.value("additionalPrinterColumns", nlohmann::json::array());
    for (const auto& f : v.value("selectableFields", nlohmann::json::array())) {
      std::string path = f.is_object() ? f.value("jsonPath", "") : "";
      if (path.starts_with(".")) path.erase(0, 1);  // ".spec.color" selects as spec.color
      if (!path.empty()) d.selectable_fields.push_back(path);
    }
  }
  if (d.version.empty()) {
    return Status::InvalidArgument("spec.versions must have exactly one storage version");
  }
  d.generation = true;
  MergeSchema merges;
  merges.WithObjectMeta();
  ListTypes(d.schema, "", merges);
  d.strategy = std::make_shared<const CustomStrategy>(std::move(merges));
  return d;
}

Status Registry::AddCustom(ResourceDef def) {
  const std::string key = def.StorageKey();
  for (const auto& [other_key, other] : by_key_) {
    if (other_key == key || other->group != def.group) continue;
    if (other->kind == def.kind) {
      return Status::AlreadyExists("kind " + def.kind + " is already served by " +
                                   other->QualifiedName());
    }
  }
  auto existing = by_key_.find(key);
  if (existing != by_key_.end() && !existing->second->custom) {
    return Status::AlreadyExists(def.QualifiedName() + " is a built-in resource");
  }
  by_key_[key] = std::make_shared<const ResourceDef>(std::move(def));  // key computed above
  return Status::Ok();
}

void Registry::RemoveCustom(const std::string& group, const std::string& plural) {
  auto it = by_key_.find(group + "/" + plural);
  if (it != by_key_.end() && it->second->custom) by_key_.erase(it);
}

}  // namespace cstor::apiserver
