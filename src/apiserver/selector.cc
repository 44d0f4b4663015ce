#include "apiserver/selector.h"

#include <algorithm>

#include "apiserver/validation.h"

namespace cstor::apiserver {
namespace {

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string_view::npos ? std::string() : std::string(s.substr(b, e - b + 1));
}

// Splits on commas that are not inside parentheses: "a in (x,y),b" -> ["a in (x,y)", "b"].
std::vector<std::string> SplitTerms(std::string_view text) {
  std::vector<std::string> out;
  int depth = 0;
  std::string cur;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(Trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!Trim(cur).empty() || !out.empty()) out.push_back(Trim(cur));
  return out;
}

std::string LabelValue(const nlohmann::json& labels, const std::string& key, bool* present) {
  *present = false;
  if (!labels.is_object()) return {};
  auto it = labels.find(key);
  if (it == labels.end() || !it->is_string()) return {};
  *present = true;
  return it->get<std::string>();
}

}  // namespace

Result<LabelSelector> LabelSelector::Parse(std::string_view text) {
  LabelSelector sel;
  for (const std::string& term : SplitTerms(text)) {
    if (term.empty()) return Status::InvalidArgument("empty requirement in label selector");
    Requirement r;
    size_t pos;
    if (term[0] == '!') {
      r.key = Trim(term.substr(1));
      r.op = Op::kNotExists;
    } else if ((pos = term.find("!=")) != std::string::npos) {
      r.key = Trim(term.substr(0, pos));
      r.op = Op::kNotIn;
      r.values = {Trim(term.substr(pos + 2))};
    } else if ((pos = term.find("==")) != std::string::npos) {
      r.key = Trim(term.substr(0, pos));
      r.op = Op::kIn;
      r.values = {Trim(term.substr(pos + 2))};
    } else if ((pos = term.find('=')) != std::string::npos) {
      r.key = Trim(term.substr(0, pos));
      r.op = Op::kIn;
      r.values = {Trim(term.substr(pos + 1))};
    } else if ((pos = term.find(" notin ")) != std::string::npos ||
               (pos = term.find(" in ")) != std::string::npos) {
      bool notin = term.compare(pos, 7, " notin ") == 0;
      r.key = Trim(term.substr(0, pos));
      r.op = notin ? Op::kNotIn : Op::kIn;
      std::string set = Trim(term.substr(pos + (notin ? 7 : 4)));
      if (set.size() < 2 || set.front() != '(' || set.back() != ')') {
        return Status::InvalidArgument("label selector \"" + term + "\": set must be in parentheses");
      }
      for (const std::string& v : SplitTerms(std::string_view(set).substr(1, set.size() - 2))) {
        r.values.push_back(v);
      }
    } else {
      r.key = term;
      r.op = Op::kExists;
    }
    if (Status s = ValidateLabelKey(r.key); !s.ok()) {
      return Status::InvalidArgument("label selector \"" + term + "\": " + s.message());
    }
    for (const std::string& v : r.values) {
      if (Status s = ValidateLabelValue(v); !s.ok()) {
        return Status::InvalidArgument("label selector \"" + term + "\": " + s.message());
      }
    }
    sel.reqs_.push_back(std::move(r));
  }
  return sel;
}

bool LabelSelector::Matches(const nlohmann::json& labels) const {
  for (const Requirement& r : reqs_) {
    bool present = false;
    std::string v = LabelValue(labels, r.key, &present);
    bool in = present && std::find(r.values.begin(), r.values.end(), v) != r.values.end();
    switch (r.op) {
      case Op::kIn: if (!in) return false; break;
      case Op::kNotIn: if (in) return false; break;
      case Op::kExists: if (!present) return false; break;
      case Op::kNotExists: if (present) return false; break;
    }
  }
  return true;
}

Result<FieldSelector> FieldSelector::Parse(std::string_view text) {
  FieldSelector sel;
  for (const std::string& term : SplitTerms(text)) {
    Requirement r;
    size_t pos;
    size_t skip;
    if ((pos = term.find("!=")) != std::string::npos) {
      r.equal = false;
      skip = 2;
    } else if ((pos = term.find("==")) != std::string::npos) {
      r.equal = true;
      skip = 2;
    } else if ((pos = term.find('=')) != std::string::npos) {
      r.equal = true;
      skip = 1;
    } else {
      return Status::InvalidArgument("field selector \"" + term + "\": expected field=value");
    }
    std::string field = Trim(term.substr(0, pos));
    r.value = Trim(term.substr(pos + skip));
    if (field.empty()) return Status::InvalidArgument("field selector \"" + term + "\": no field");
    size_t start = 0;
    while (true) {
      size_t dot = field.find('.', start);
      r.path.push_back(field.substr(start, dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    sel.reqs_.push_back(std::move(r));
  }
  return sel;
}

void FieldSelector::RenamePaths(const std::map<std::string, std::string>& renames) {
  std::vector<std::string> paths = Paths();
  for (size_t i = 0; i < reqs_.size(); ++i) {
    auto it = renames.find(paths[i]);
    if (it == renames.end()) continue;
    auto parsed = Parse(it->second + "=x");
    if (parsed.ok() && parsed->reqs_.size() == 1) reqs_[i].path = parsed->reqs_[0].path;
  }
}

std::string FieldSelector::ToString() const {
  std::string out;
  std::vector<std::string> paths = Paths();
  for (size_t i = 0; i < reqs_.size(); ++i) {
    out += (out.empty() ? "" : ",") + paths[i] + (reqs_[i].equal ? "=" : "!=") + reqs_[i].value;
  }
  return out;
}

std::vector<std::string> FieldSelector::Paths() const {
  std::vector<std::string> out;
  for (const Requirement& r : reqs_) {
    std::string p;
    for (const std::string& part : r.path) p += (p.empty() ? "" : ".") + part;
    out.push_back(std::move(p));
  }
  return out;
}

bool FieldSelector::Matches(const nlohmann::json& object) const {
  for (const Requirement& r : reqs_) {
    const nlohmann::json* cur = &object;
    for (const std::string& part : r.path) {
      if (!cur->is_object() || !cur->contains(part)) {
        cur = nullptr;
        break;
      }
      cur = &(*cur)[part];
    }
    std::string v;
    if (cur != nullptr && !cur->is_null()) v = cur->is_string() ? cur->get<std::string>() : cur->dump();
    if ((v == r.value) != r.equal) return false;
  }
  return true;
}

}  // namespace cstor::apiserver
