// Reading and changing the metadata every stored object carries.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cstor::apiserver {

// Storage keys and finalizers the server itself acts on.
constexpr const char* kCrdKey = "apiextensions.k8s.io/customresourcedefinitions";
constexpr const char* kNamespaceKey = "/namespaces";
constexpr const char* kForegroundFinalizer = "foregroundDeletion";
constexpr const char* kOrphanFinalizer = "orphan";

// The current time as Kubernetes writes timestamps (RFC 3339, seconds, UTC).
std::string Now();

// obj.metadata, or an empty object when it has none.
const nlohmann::json& Meta(const nlohmann::json& obj);
// metadata.labels, or null; without a copy.
const nlohmann::json& LabelsOf(const nlohmann::json& obj);
std::string MetaString(const nlohmann::json& obj, const char* key);
bool IsDeleting(const nlohmann::json& obj);
std::vector<std::string> Finalizers(const nlohmann::json& obj);
void SetFinalizers(nlohmann::json& obj, const std::vector<std::string>& finalizers);
// Whether anything but metadata and status differs: what bumps metadata.generation.
bool SpecChanged(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace cstor::apiserver
