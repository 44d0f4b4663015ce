// pods/log: what `kubectl logs` reads. The node runtime writes each container's output to
// <pod_log_dir>/<namespace>/<pod>/<container>.log (the previous run's to .log.1), one line
// per line of output, each starting with the time it was written (RFC 3339, UTC,
// nanoseconds) and a space, as kubelet's log files carry it. This serves it whole, its
// tail, the first bytes, from a time on (sinceSeconds, sinceTime), with or without the
// times (timestamps), or followed as it grows. A line without a time is served as it is.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "apiserver/impl.h"
#include "apiserver/objects.h"
#include "apiserver/table.h"

namespace cstor::apiserver {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string ReadFrom(const fs::path& p, uint64_t offset, size_t max = SIZE_MAX) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return "";
  in.seekg(static_cast<std::streamoff>(offset));
  if (max != SIZE_MAX) {
    std::string out(max, '\0');
    in.read(out.data(), static_cast<std::streamsize>(max));
    out.resize(static_cast<size_t>(in.gcount()));
    return out;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The last `lines` lines of `text` (a final line without its newline counts).
std::string Tail(const std::string& text, int64_t lines) {
  if (lines <= 0) return "";
  size_t end = text.size();
  if (end > 0 && text[end - 1] == '\n') --end;
  size_t pos = end;
  for (int64_t n = 0; n < lines; ++n) {
    const size_t nl = pos == 0 ? std::string::npos : text.rfind('\n', pos - 1);
    if (nl == std::string::npos) return text;
    pos = nl;
  }
  return text.substr(pos + 1);
}

constexpr size_t kMaxPartialLine = 16 * 1024;

// How a client asked for the lines: with their times or not, from a time on.
struct LineFormat {
  bool timestamps = false;
  std::optional<std::chrono::system_clock::time_point> since;

  // Whole lines of `text` (a final partial one is left in `carry` for the next call, when
  // given) as the client asked for them.
  std::string Apply(std::string_view text, std::string* carry = nullptr) const {
    std::string in;
    if (carry != nullptr) {
      in = std::move(*carry) + std::string(text);
      carry->clear();
      text = in;
    }
    std::string out;
    out.reserve(text.size());
    size_t at = 0;
    while (at < text.size()) {
      size_t nl = text.find('\n', at);
      if (nl == std::string_view::npos) {
        // A line still being written waits for its end, up to a bound (a progress bar
        // redrawn with carriage returns never ends one): past that it goes out as it is.
        if (carry != nullptr && text.size() - at <= kMaxPartialLine) {
          *carry = std::string(text.substr(at));
          break;
        }
        nl = text.size() - 1;
      }
      out += Line(text.substr(at, nl + 1 - at));
      at = nl + 1;
    }
    return out;
  }

  std::string_view Line(std::string_view line) const {
    const size_t space = line.find(' ');
    std::chrono::system_clock::time_point t;
    if (space == std::string_view::npos || space < 20 || !ParseTimestamp(line.substr(0, space), &t)) return line;
    if (since && t < *since) return {};
    return timestamps ? line : line.substr(space + 1);
  }
};

LineFormat FormatOf(const http::Request& req) {
  LineFormat f;
  f.timestamps = BoolParam(req, "timestamps");
  const bool has_seconds = req.has_param("sinceSeconds"), has_time = req.has_param("sinceTime");
  if (has_seconds && has_time) throw BadRequest("at most one of sinceTime or sinceSeconds may be specified");
  if (has_seconds) {
    const int64_t seconds = IntParam(req, "sinceSeconds", 0);
    if (seconds < 1) throw BadRequest("sinceSeconds: Invalid value: must be greater than 0");
    f.since = std::chrono::system_clock::now() - std::chrono::seconds(seconds);
  }
  if (has_time) {
    std::chrono::system_clock::time_point t;
    if (!ParseTimestamp(req.get_param_value("sinceTime"), &t)) {
      throw BadRequest(fmt::format("sinceTime: Invalid value: \"{}\": not an RFC 3339 time", req.get_param_value("sinceTime")));
    }
    f.since = t;
  }
  return f;
}

}  // namespace

void ApiServer::Impl::Logs(const Target& t, const http::Request& req, http::Response& res) {
  ObjectPtr pod = store_->Get(t.def->StorageKey(), t.ns, t.name);
  if (!pod) throw NotFound(*t.def, t.name);
  std::vector<std::string> names;
  for (const char* list : {"initContainers", "containers"}) {
    const json& spec = pod->value("spec", json::object());
    for (const json& c : spec.value(list, json::array())) names.push_back(c.value("name", ""));
  }
  std::string container = req.get_param_value("container");
  if (container.empty()) {
    if (names.size() != 1) {
      std::string all;
      for (const std::string& n : names) all += (all.empty() ? "" : " ") + n;
      throw BadRequest(fmt::format("a container name must be specified for pod {}, choose one of: [{}]",
                                   t.name, all));
    }
    container = names[0];
  } else if (std::find(names.begin(), names.end(), container) == names.end()) {
    throw BadRequest(fmt::format("container {} is not valid for pod {}", container, t.name));
  }
  const bool previous = BoolParam(req, "previous");
  const LineFormat format = FormatOf(req);
  const fs::path dir = opts_.pod_log_dir.empty() ? fs::path(opts_.data_dir) / "pod-logs" : fs::path(opts_.pod_log_dir);
  const fs::path file = dir / t.ns / t.name / (container + (previous ? ".log.1" : ".log"));
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    if (previous) {
      throw BadRequest(fmt::format("previous terminated container \"{}\" in pod \"{}\" not found", container, t.name));
    }
    throw BadRequest(fmt::format("container \"{}\" in pod \"{}\" is waiting to start: ContainerCreating",
                                 container, t.name));
  }
  std::string text = ReadFrom(file, 0);
  uint64_t offset = text.size();
  if (req.has_param("tailLines")) text = Tail(text, IntParam(req, "tailLines", 0));
  const int64_t limit = IntParam(req, "limitBytes", 0);
  const bool follow = BoolParam(req, "follow") && !previous && limit <= 0;
  std::string carry;  // a line still being written, completed by what follows
  text = format.Apply(text, follow ? &carry : nullptr);
  if (limit > 0 && text.size() > static_cast<size_t>(limit)) text.resize(static_cast<size_t>(limit));
  if (!follow) {
    res.set_content(text, "text/plain");
    return;
  }
  // Follow: what there is now, then what is appended, until the client goes, the pod is
  // deleted, or the server stops. The hub polls the file; no thread waits on it. A log
  // that shrank was rotated: read it from the start.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(opts_.max_watch_seconds);
  const std::string key = t.def->StorageKey(), ns = t.ns, name = t.name, uid = MetaString(*pod, "uid");
  res.set_stream("text/plain", [this, text = std::move(text), offset, deadline, file, key, ns, name, uid, format,
                                carry = std::move(carry)](std::shared_ptr<http::Stream> stream) mutable {
    constexpr size_t kPiece = 1 << 20;
    for (size_t at = 0; at < text.size(); at += kPiece) {
      if (!WritePaced(*stream, text.substr(at, kPiece))) return;
    }
    Follow([this, stream, offset, deadline, file, key, ns, name, uid, format, carry = std::move(carry)]() mutable {
      if (!stream->Open()) return false;
      std::error_code size_ec;
      const uint64_t size = fs::file_size(file, size_ec);
      if (!size_ec && size < offset) {
        offset = 0;
        carry.clear();  // the rest of a line of the file that was rotated away
      }
      // At most a megabyte a poll, and only while the client keeps up.
      if (!size_ec && size > offset && stream->Backlog() < (4u << 20)) {
        std::string more = ReadFrom(file, offset, 1 << 20);
        offset += more.size();
        more = format.Apply(more, &carry);
        if (!more.empty() && !stream->Write(std::move(more))) return false;
      }
      ObjectPtr now = store_->Get(key, ns, name);
      if (stopping_ || !now || MetaString(*now, "uid") != uid || std::chrono::steady_clock::now() >= deadline) {
        if (!carry.empty()) stream->Write(std::string(format.Line(carry)));  // the last line, unfinished
        stream->Finish();
        return false;
      }
      return true;
    });
  });
}

}  // namespace cstor::apiserver
