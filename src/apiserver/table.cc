#include "apiserver/table.h"

#include <cstdio>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

namespace cstor::apiserver {
namespace {

using nlohmann::json;

std::string Age(const json& object) {
  std::chrono::system_clock::time_point t;
  const json& meta = object.value("metadata", json::object());
  if (!ParseTimestamp(meta.value("creationTimestamp", ""), &t)) return "<unknown>";
  return HumanDuration(std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now() - t));
}

json Cell(const json& column, const json& value) {
  if (value.is_null()) return nullptr;
  const std::string type = column.value("type", "string");
  if (type == "date" && value.is_string()) {
    std::chrono::system_clock::time_point t;
    if (!ParseTimestamp(value.get<std::string>(), &t)) return value;
    return HumanDuration(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - t));
  }
  if (value.is_object() || value.is_array()) return value.dump();
  return value;
}

}  // namespace

nlohmann::json TableColumns(const ResourceDef& def) {
  json cols = json::array();
  cols.push_back({{"name", "Name"}, {"type", "string"}, {"format", "name"},
                  {"description", "Name must be unique within a namespace."}, {"priority", 0}});
  if (const auto& computed = def.strategy->Columns(); !computed.empty()) {
    for (const Column& c : computed) {
      cols.push_back({{"name", c.name}, {"type", c.type}, {"format", ""},
                      {"description", c.description}, {"priority", c.priority}});
    }
    return cols;
  }
  if (def.printer_columns.empty()) {
    cols.push_back({{"name", "Age"}, {"type", "string"}, {"format", ""},
                    {"description", "Time since the object was created."}, {"priority", 0}});
    return cols;
  }
  for (const auto& c : def.printer_columns) {
    cols.push_back({{"name", c.value("name", "")},
                    {"type", c.value("type", "string") == "date" ? "date" : c.value("type", "string")},
                    {"format", c.value("format", "")},
                    {"description", c.value("description", "")},
                    {"priority", c.value("priority", 0)}});
  }
  return cols;
}

nlohmann::json TableRow(const ResourceDef& def, const nlohmann::json& object,
                        IncludeObject include) {
  json cells = json::array();
  cells.push_back(object.value("metadata", json::object()).value("name", ""));
  if (const auto& computed = def.strategy->Columns(); !computed.empty()) {
    for (const Column& c : computed) {
      // An object stored with an odd value (a kind without type checks) shows an empty
      // cell rather than failing the whole list.
      try {
        cells.push_back(c.cell(object));
      } catch (const json::exception&) {
        cells.push_back(nullptr);
      }
    }
  } else if (def.printer_columns.empty()) {
    cells.push_back(Age(object));
  } else {
    for (const auto& c : def.printer_columns) {
      cells.push_back(Cell(c, EvalJsonPath(object, c.value("jsonPath", ""))));
    }
  }
  json row = {{"cells", std::move(cells)}};
  if (include == IncludeObject::kObject) {
    row["object"] = object;
  } else if (include == IncludeObject::kMetadata) {
    row["object"] = {{"kind", "PartialObjectMetadata"},
                     {"apiVersion", "meta.k8s.io/v1"},
                     {"metadata", object.value("metadata", json::object())}};
  }
  return row;
}

nlohmann::json EvalJsonPath(const nlohmann::json& object, std::string_view path) {
  if (path.starts_with("{") && path.ends_with("}")) path = path.substr(1, path.size() - 2);
  const json* cur = &object;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '.') {
      ++i;
      std::string key;
      while (i < path.size() && path[i] != '.' && path[i] != '[') {
        if (path[i] == '\\' && i + 1 < path.size()) ++i;  // "\." is a dot inside a key
        key += path[i++];
      }
      if (key.empty()) continue;
      if (!cur->is_object() || !cur->contains(key)) return nullptr;
      cur = &(*cur)[key];
    } else if (path[i] == '[') {
      size_t close = path.find(']', i);
      if (close == std::string_view::npos || !cur->is_array()) return nullptr;
      size_t index = 0;
      for (size_t j = i + 1; j < close; ++j) {
        if (path[j] < '0' || path[j] > '9') return nullptr;
        index = index * 10 + static_cast<size_t>(path[j] - '0');
      }
      if (index >= cur->size()) return nullptr;
      cur = &(*cur)[index];
      i = close + 1;
    } else {
      return nullptr;
    }
  }
  return *cur;
}

std::string HumanDuration(std::chrono::seconds d) {
  if (d.count() < -1) return "<invalid>";  // a clock ahead of ours
  int64_t s = std::max<int64_t>(d.count(), 0);
  if (s < 120) return fmt::format("{}s", s);
  int64_t m = s / 60;
  if (m < 10) return s % 60 == 0 ? fmt::format("{}m", m) : fmt::format("{}m{}s", m, s % 60);
  if (m < 180) return fmt::format("{}m", m);
  int64_t h = m / 60;
  if (h < 8) return m % 60 == 0 ? fmt::format("{}h", h) : fmt::format("{}h{}m", h, m % 60);
  if (h < 48) return fmt::format("{}h", h);
  int64_t days = h / 24;
  if (days < 8) return h % 24 == 0 ? fmt::format("{}d", days) : fmt::format("{}d{}h", days, h % 24);
  if (days < 730) return fmt::format("{}d", days);
  const int64_t years = days / 365;
  if (years < 8 && days % 365 != 0) return fmt::format("{}y{}d", years, days % 365);
  return fmt::format("{}y", years);
}

std::string FormatTimestamp(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool ParseTimestamp(std::string_view text, std::chrono::system_clock::time_point* out) {
  std::tm tm{};
  std::string s(text);
  const char* p = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (p == nullptr) return false;
  auto t = std::chrono::system_clock::from_time_t(timegm(&tm));
  if (*p == '.') {  // fractional seconds, to microseconds
    int64_t frac = 0;
    int digits = 0;
    for (++p; *p >= '0' && *p <= '9'; ++p, ++digits) {
      if (digits < 6) frac = frac * 10 + (*p - '0');
    }
    if (digits == 0) return false;
    for (; digits < 6; ++digits) frac *= 10;
    t += std::chrono::microseconds(frac);
  }
  if (*p == 'Z' || *p == 'z') {
    ++p;
  } else if (*p == '+' || *p == '-') {  // an offset from UTC: local = UTC + offset
    int hh = 0, mm = 0;
    if (std::sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2 || std::strlen(p) != 6) return false;
    auto offset = std::chrono::hours(hh) + std::chrono::minutes(mm);
    t += *p == '+' ? -offset : offset;
    p += 6;
  } else {
    return false;
  }
  if (*p != '\0') return false;
  *out = t;
  return true;
}

}  // namespace cstor::apiserver
