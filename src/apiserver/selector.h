// Label and field selectors, as in `?labelSelector=app=cstor,tier!=db` and
// `?fieldSelector=metadata.name=vol1`.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace cstor::apiserver {

class LabelSelector {
 public:
  // Equality (=, ==, !=) and set-based (in, notin, exists, !exists) requirements, comma
  // separated. The empty selector matches everything.
  static Result<LabelSelector> Parse(std::string_view text);
  bool Matches(const nlohmann::json& labels) const;  // labels: an object or null
  bool empty() const { return reqs_.empty(); }

 private:
  enum class Op { kIn, kNotIn, kExists, kNotExists };
  struct Requirement {
    std::string key;
    Op op;
    std::vector<std::string> values;
  };
  std::vector<Requirement> reqs_;
};

class FieldSelector {
 public:
  // `path=value`, `path==value` and `path!=value`, comma separated, where path is a dotted
  // JSON path into the object (metadata.name, involvedObject.uid, status.phase).
  static Result<FieldSelector> Parse(std::string_view text);
  bool Matches(const nlohmann::json& object) const;
  bool empty() const { return reqs_.empty(); }
  // The dotted paths it selects on ("metadata.name").
  std::vector<std::string> Paths() const;
  // Replaces the paths named in `renames` (dotted, old -> new).
  void RenamePaths(const std::map<std::string, std::string>& renames);
  // The selector as text again ("metadata.name=a,type!=Normal").
  std::string ToString() const;

 private:
  struct Requirement {
    std::vector<std::string> path;
    std::string value;
    bool equal;
  };
  std::vector<Requirement> reqs_;
};

}  // namespace cstor::apiserver
