#include "apiserver/objects.h"

#include <chrono>

#include "apiserver/table.h"

namespace cstor::apiserver {

using nlohmann::json;

std::string Now() { return FormatTimestamp(std::chrono::system_clock::now()); }

const json& Meta(const json& obj) {
  static const json kEmpty = json::object();
  auto it = obj.find("metadata");
  return it != obj.end() && it->is_object() ? *it : kEmpty;
}

const json& LabelsOf(const json& obj) {
  static const json kNull;
  const json& meta = Meta(obj);
  auto it = meta.find("labels");
  return it == meta.end() ? kNull : *it;
}

std::string MetaString(const json& obj, const char* key) { return Meta(obj).value(key, ""); }
bool IsDeleting(const json& obj) { return Meta(obj).contains("deletionTimestamp"); }

std::vector<std::string> Finalizers(const json& obj) {
  std::vector<std::string> out;
  for (const auto& f : Meta(obj).value("finalizers", json::array())) {
    if (f.is_string()) out.push_back(f);
  }
  return out;
}
void SetFinalizers(json& obj, const std::vector<std::string>& finalizers) {
  if (finalizers.empty()) {
    obj["metadata"].erase("finalizers");
  } else {
    obj["metadata"]["finalizers"] = finalizers;
  }
}

// "everything but metadata and status": what a change to bumps generation.
bool SpecChanged(const json& a, const json& b) {
  json x = a, y = b;
  for (json* j : {&x, &y}) {
    j->erase("metadata");
    j->erase("status");
  }
  return x != y;
}

}  // namespace cstor::apiserver
