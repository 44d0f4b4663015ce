// Fuzzes what the API server parses from clients: label and field selectors, YAML (CRD
// manifests and kubeconfigs; ToYaml must round-trip what it parsed), and JSON objects
// validated against a CRD's schema and patched with merge and JSON patches. The first
// byte picks the parser. Every input must be answered with a value or an error, never a
// crash, a sanitizer report or an exception the server does not catch.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "api/yaml.h"
#include "apiserver/registry.h"
#include "apiserver/schema.h"
#include "apiserver/selector.h"
#include "apiserver/server.h"

namespace {

using nlohmann::json;
using namespace cstor;

// The CStorVolumeReplica schema, from the CRDs built into the server.
const json& ReplicaSchema() {
  static const json schema = [] {
    for (const std::string& manifest : apiserver::EmbeddedCrdManifests()) {
      auto doc = api::ParseYaml(manifest);
      if (!doc.ok()) std::abort();
      auto def = apiserver::Registry::FromCrd(*doc);
      if (def.ok() && def->kind == "CStorVolumeReplica") return def->schema;
    }
    std::abort();
  }();
  return schema;
}

void Selectors(const std::string& text, bool labels) {
  const json object = {{"metadata", {{"name", "vol1"}, {"labels", {{"app", "cstor"}, {"tier", "db"}}}}},
                       {"status", {{"phase", "Healthy"}}}};
  if (labels) {
    auto sel = apiserver::LabelSelector::Parse(text);
    if (sel.ok()) (void)sel->Matches(object["metadata"]["labels"]);
  } else {
    auto sel = apiserver::FieldSelector::Parse(text);
    if (sel.ok()) (void)sel->Matches(object);
  }
}

void Yaml(const std::string& text) {
  auto docs = api::ParseYamlDocuments(text);
  if (!docs.ok()) return;
  for (const json& doc : *docs) {
    // What we parsed, we must write so that it reads back the same, except the Unicode
    // noncharacters U+FFFE and U+FFFF, which YAML does not allow in a stream and
    // yaml-cpp's emitter writes as U+FFFD.
    const std::string text_json = doc.dump();
    if (text_json.find("\xEF\xBF\xBE") != std::string::npos ||
        text_json.find("\xEF\xBF\xBF") != std::string::npos) {
      continue;
    }
    auto again = api::ParseYaml(api::ToYaml(doc));
    if (!again.ok() || *again != doc) std::abort();
  }
}

void Object(const std::string& text) {
  json input = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (input.is_discarded()) return;
  json validated = input;
  (void)apiserver::ValidateAndPrune(ReplicaSchema(), validated);
  json target = {{"metadata", {{"name", "vol1"}}}, {"spec", {{"capacity", "10Gi"}}}};
  if (input.is_object()) target.merge_patch(input);
  // A JSON patch, applied as the server does: one operation at a time, while the object
  // stays within the server's size limit (copies can double it with every operation).
  if (!input.is_array()) return;
  for (const json& op : input) {
    try {
      target = target.patch(json::array({op}));
    } catch (const json::exception&) {
      return;
    }
    if (target.dump().size() > 3 * 1024 * 1024) return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: Selectors(text, true); break;
    case 1: Selectors(text, false); break;
    case 2: Yaml(text); break;
    default: Object(text); break;
  }
  return 0;
}
