// Server-side printing: objects as meta.k8s.io/v1 Tables, the form kubectl asks for
// (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), with a CRD's printer columns.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "apiserver/registry.h"
#include "apiserver/store.h"

namespace cstor::apiserver {

enum class IncludeObject { kNone, kMetadata, kObject };

// The column definitions for `def`: Name, then its printer columns (Age when it has none).
nlohmann::json TableColumns(const ResourceDef& def);
// One row of cells for `object`, with the object (or its metadata) attached as asked.
nlohmann::json TableRow(const ResourceDef& def, const nlohmann::json& object, IncludeObject include);

// The value at a simple JSONPath (".status.phase", ".metadata.labels.a\.b/c", ".x[0].y"),
// or null when any step is missing.
nlohmann::json EvalJsonPath(const nlohmann::json& object, std::string_view path);

// "45s", "3m12s", "17m", "5h3m", "2d4h", "35d", "3y": how kubectl shows ages.
std::string HumanDuration(std::chrono::seconds d);
// RFC 3339 timestamps ("2026-11-24T16:37:29Z") to and from the system clock.
std::string FormatTimestamp(std::chrono::system_clock::time_point t);
bool ParseTimestamp(std::string_view text, std::chrono::system_clock::time_point* out);

}  // namespace cstor::apiserver
