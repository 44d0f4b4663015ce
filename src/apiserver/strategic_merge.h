// Strategic merge patch (application/strategic-merge-patch+json), as kube-apiserver
// applies it to built-in kinds: a merge patch, except that lists the kind declares
// mergeable are merged by a key (containers by name, a Service's ports by port, owner
// references by uid) or as sets (finalizers), and the patch may carry directives:
//   $patch: replace | delete | merge      on a map, or on a list item (with its key)
//   {"$patch": "replace"} as a list item   the list is replaced by the patch's items
//   $retainKeys: [...]                     keys of this map the result keeps
//   $deleteFromPrimitiveList/<field>: [...] values removed from a primitive list
//   $setElementOrder/<field>: [...]        the order of a merged list's items
// Custom resources have no such metadata: a real server answers 415 for them, and so do
// we (patch.cc).
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace cstor::apiserver {

// Where a kind's lists merge, by path: "spec.template.spec.containers" (a list's items
// are written "[]": "spec.template.spec.containers[].ports").
struct MergeSchema {
  // path -> the merge key of a list of objects, or "" for a list of scalars merged as a set.
  std::map<std::string, std::string> merge_keys;
  // Adds the pod spec's merge lists under `prefix` ("spec" for a Pod,
  // "spec.template.spec" for workloads).
  MergeSchema& WithPodSpec(const std::string& prefix);
  // metadata.finalizers as a set, metadata.ownerReferences by uid: every kind has them.
  MergeSchema& WithObjectMeta();
  MergeSchema& Merge(const std::string& path, const std::string& key = "");
};

// The patched object, or InvalidArgument for a malformed patch (an unknown directive, a
// list item without its merge key, a directive of the wrong type).
Result<nlohmann::json> StrategicMerge(const nlohmann::json& original, const nlohmann::json& patch,
                                      const MergeSchema& schema);

}  // namespace cstor::apiserver
