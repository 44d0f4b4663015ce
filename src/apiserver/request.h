// Request plumbing shared by the API server's handlers: the Status errors they throw,
// the path a request targets, and its query parameters.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apiserver/registry.h"
#include "apiserver/schema.h"
#include "apiserver/selector.h"
#include "apiserver/table.h"
#include "http/message.h"

namespace cstor::apiserver {

// Kubernetes' request size limit, and so the largest object the server stores.
constexpr size_t kMaxObjectBytes = 3 * 1024 * 1024;

// An error answered as a Kubernetes Status object. Handlers throw it; one place catches.
struct ApiError : std::exception {
  int code;
  std::string reason;
  std::string message;
  nlohmann::json details;
  ApiError(int c, std::string r, std::string m, nlohmann::json d = nullptr)
      : code(c), reason(std::move(r)), message(std::move(m)), details(std::move(d)) {}
  const char* what() const noexcept override { return message.c_str(); }
};

nlohmann::json StatusObject(int code, const std::string& reason, const std::string& message,
                            const nlohmann::json& details);
ApiError BadRequest(std::string msg);
ApiError NotFoundPath();
ApiError NotFound(const ResourceDef& def, const std::string& name);
ApiError AlreadyExists(const ResourceDef& def, const std::string& name);
ApiError Conflict(const ResourceDef& def, const std::string& name, const std::string& why);
ApiError Invalid(const ResourceDef& def, const std::string& name,
                 const std::vector<FieldError>& errors);

// A request's target, parsed from its path.
struct Target {
  ResourceDefPtr def;
  std::string ns;
  std::string name;
  std::string sub;  // "" or a subresource the kind serves ("status")
  bool legacy_watch = false;
};

// A patch request's body and type (415 for a type the resource does not take, 400 for a
// malformed body).
struct ParsedPatch {
  enum Type { kJson, kMerge, kStrategic } type = kMerge;
  nlohmann::json patch;
};
ParsedPatch ParsePatch(const ResourceDef& def, const http::Request& req);
// `cur` with the patch applied (a strategic one merging the lists in `merges`); 422 for a
// JSON patch that cannot apply or grows the object past the size limit.
nlohmann::json ApplyPatch(const nlohmann::json& cur, const ParsedPatch& p, const MergeSchema& merges);

// What a typed decoder would not keep: the top-level fields of `obj` not in `known` are
// dropped, with a Warning header (fieldValidation Warn, the default), or refused with 400
// (Strict).
void DropUnknownFields(nlohmann::json& obj, const std::vector<std::string>& known, const http::Request* req,
                       http::Response* res);

// The body as a JSON object, or a 400; by its Content-Type, JSON or YAML, and 415 for any
// other (protobuf, CBOR), which tells clients to send JSON instead.
nlohmann::json ParseBody(const http::Request& req, bool creating);
nlohmann::json ParseBody(const std::string& body);
std::vector<std::string> SplitPath(const std::string& path);
int64_t IntParam(const http::Request& req, const char* name, int64_t fallback);
bool BoolParam(const http::Request& req, const char* name);
// dryRun=All, in the query or (for deletes) in the DeleteOptions body.
bool DryRun(const http::Request& req, const nlohmann::json& options);
bool WantsTable(const http::Request& req);
IncludeObject IncludeParam(const http::Request& req);
// Who makes a write, for managedFields: ?fieldManager=, else the User-Agent's product
// ("kubectl" from "kubectl/v1.32.4 (linux/amd64) ..."), as kube-apiserver does.
std::string FieldManager(const http::Request& req);
// The request's field selector, on paths the kind serves: as on a real server, a custom
// resource selects only on metadata.name, metadata.namespace and its CRD's
// selectableFields, and a built-in kind on its own short list; anything else is a 400.
Result<FieldSelector> ParseFieldSelector(const ResourceDef& def, const http::Request& req);

}  // namespace cstor::apiserver
