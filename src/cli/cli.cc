#include "cli/cli.h"

#include <fmt/format.h>

#include <ctime>

#include "base/units.h"

namespace cstor::cli {

Result<uint64_t> ParseSizeOption(const std::string& option, const std::string& text) {
  auto size = ParseSize(text);
  if (!size.ok()) return size.status().WithContext(option);
  return size;
}

Result<std::unique_ptr<engine::Pool>> OpenPool(const std::string& dir) {
  auto pool = engine::Pool::Open(dir);
  if (!pool.ok() && pool.status().Is(Code::kNotFound)) {
    return Status::NotFound(pool.status().message() +
                            "; create one with: cstor pool create " + dir);
  }
  return pool;
}

Result<std::pair<std::string, std::string>> SplitSnapshotName(const std::string& text) {
  size_t at = text.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == text.size()) {
    return Status::InvalidArgument("'" + text + "' is not of the form VOLUME@SNAPSHOT");
  }
  return std::pair{text.substr(0, at), text.substr(at + 1)};
}

std::string Table::Render() const {
  std::vector<size_t> width;
  for (const auto& row : rows_) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); i++) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); i++) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string FormatTime(uint64_t micros) {
  std::time_t t = static_cast<std::time_t>(micros / 1'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

}  // namespace cstor::cli
