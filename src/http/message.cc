#include "http/message.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace cstor::http {
namespace {

char Lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return Lower(x) == Lower(y); });
}

// RFC 9110 5.6.2: token characters.
bool IsTokenChar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether a comma-separated header value lists `token` (Connection: keep-alive, Upgrade).
bool ListsToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    if (IEquals(Trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](char x, char y) { return Lower(x) < Lower(y); });
}

std::string Request::get_header_value(std::string_view name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

std::string Request::get_param_value(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? "" : it->second;
}

bool Request::KeepAlive() const {
  const std::string connection = get_header_value("Connection");
  if (ListsToken(connection, "close")) return false;
  return minor_version >= 1 || ListsToken(connection, "keep-alive");
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = HexDigit(s[i + 1]), lo = HexDigit(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<ParseError> ParseRequestHead(std::string_view head, Request& req) {
  const size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  // request-line = method SP request-target SP HTTP-version
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == 0 || sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return ParseError{400, "malformed request line"};
  }
  const std::string_view method = line.substr(0, sp1);
  if (!std::all_of(method.begin(), method.end(), IsTokenChar)) return ParseError{400, "malformed method"};
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || !std::isdigit(static_cast<unsigned char>(version[7]))) {
    if (version.substr(0, 5) == "HTTP/") return ParseError{505, "only HTTP/1.x is served"};
    return ParseError{400, "malformed HTTP version"};
  }
  if (target.empty() || target.front() != '/') return ParseError{400, "the request target must be a path"};
  req.method = std::string(method);
  req.minor_version = version[7] - '0';

  const size_t q = target.find('?');
  auto path = PercentDecode(target.substr(0, q), false);
  if (!path) return ParseError{400, "malformed escape in the path"};
  req.path = std::move(*path);
  req.query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  std::string_view query = req.query;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      auto key = PercentDecode(pair.substr(0, eq), true);
      auto value = PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
      if (!key || !value) return ParseError{400, "malformed escape in the query"};
      req.params.emplace(std::move(*key), std::move(*value));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }

  std::string_view rest = line_end == std::string_view::npos ? "" : head.substr(line_end + 2);
  while (!rest.empty()) {
    const size_t end = rest.find("\r\n");
    std::string_view field = rest.substr(0, end);
    rest = end == std::string_view::npos ? "" : rest.substr(end + 2);
    if (field.empty()) continue;
    // No obsolete line folding (RFC 9112 5.2), no whitespace before the colon (5.1).
    if (field.front() == ' ' || field.front() == '\t') return ParseError{400, "obsolete header line folding"};
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) return ParseError{400, "malformed header field"};
    const std::string_view name = field.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), IsTokenChar)) return ParseError{400, "malformed header name"};
    const std::string_view value = Trim(field.substr(colon + 1));
    // A bare CR, LF or NUL in a value is how one request is read as two (RFC 9110 5.5).
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
      return ParseError{400, "invalid character in a header value"};
    }
    req.headers.emplace(std::string(name), std::string(value));
  }
  return std::nullopt;
}

std::optional<ParseError> BodyFramingOf(const Request& req, size_t max_body, BodyFraming& out) {
  out = {};
  auto te = req.headers.equal_range("Transfer-Encoding");
  auto cl = req.headers.equal_range("Content-Length");
  if (te.first != te.second) {
    // Both framings at once is how requests are smuggled (RFC 9112 6.1): refuse it.
    if (cl.first != cl.second) return ParseError{400, "both Transfer-Encoding and Content-Length"};
    std::string codings;
    for (auto it = te.first; it != te.second; ++it) codings += (codings.empty() ? "" : ",") + it->second;
    if (!IEquals(Trim(codings), "chunked")) return ParseError{501, "only the chunked transfer coding is accepted"};
    out.chunked = true;
    return std::nullopt;
  }
  if (cl.first == cl.second) return std::nullopt;
  std::string_view value = Trim(cl.first->second);
  for (auto it = std::next(cl.first); it != cl.second; ++it) {
    if (Trim(it->second) != value) return ParseError{400, "conflicting Content-Length"};
  }
  size_t length = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
  if (ec != std::errc() || end != value.data() + value.size() || value.empty()) {
    return ParseError{400, "malformed Content-Length"};
  }
  if (length > max_body) return ParseError{413, fmt::format("the request body is limited to {} bytes", max_body)};
  out.length = length;
  return std::nullopt;
}

size_t ChunkedDecoder::Feed(std::string_view in, std::string& body, std::optional<ParseError>& error) {
  size_t used = 0;
  while (used < in.size() && state_ != State::kDone) {
    std::string_view rest = in.substr(used);
    switch (state_) {
      case State::kSize: {
        const size_t eol = rest.find("\r\n");
        if (eol == std::string_view::npos) {
          if (rest.size() > 1024) error = ParseError{400, "malformed chunk size line"};
          return used;
        }
        std::string_view line = rest.substr(0, eol);
        line = line.substr(0, line.find(';'));  // chunk extensions are ignored
        line = Trim(line);
        size_t size = 0;
        auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
        if (line.empty() || ec != std::errc() || end != line.data() + line.size()) {
          error = ParseError{400, "malformed chunk size"};
          return used;
        }
        if (size > max_body_ || body.size() + size > max_body_) {
          error = ParseError{413, fmt::format("the request body is limited to {} bytes", max_body_)};
          return used;
        }
        used += eol + 2;
        remaining_ = size;
        state_ = size == 0 ? State::kTrailer : State::kData;
        break;
      }
      case State::kData: {
        const size_t n = std::min(remaining_, rest.size());
        body.append(rest.substr(0, n));
        used += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kDataEnd;
        break;
      }
      case State::kDataEnd:
        if (rest.size() < 2) return used;
        if (rest.substr(0, 2) != "\r\n") {
          error = ParseError{400, "malformed chunk end"};
          return used;
        }
        used += 2;
        state_ = State::kSize;
        break;
      case State::kTrailer: {
        // Trailer fields, ignored, up to the blank line.
        const size_t eol = rest.find("\r\n");
        if (eol == std::string_view::npos) {
          if (rest.size() > 8192) error = ParseError{431, "trailer fields too large"};
          return used;
        }
        used += eol + 2;
        if (eol == 0) state_ = State::kDone;
        break;
      }
      case State::kDone:
        break;
    }
  }
  return used;
}

std::string FormatHead(const Response& res, bool chunked, bool keep_alive, size_t content_length) {
  std::string head = fmt::format("HTTP/1.1 {} {}\r\n", res.status, ReasonPhrase(res.status));
  if (!res.content_type.empty()) head += fmt::format("Content-Type: {}\r\n", res.content_type);
  head += "Cache-Control: no-cache, private\r\n";
  for (const auto& [name, value] : res.headers) head += fmt::format("{}: {}\r\n", name, value);
  if (chunked) {
    head += "Transfer-Encoding: chunked\r\n";
  } else {
    head += fmt::format("Content-Length: {}\r\n", content_length);
  }
  if (!keep_alive) head += "Connection: close\r\n";
  head += "\r\n";
  return head;
}

std::string FormatChunk(std::string_view data) {
  if (data.empty()) return "0\r\n\r\n";
  std::string out = fmt::format("{:x}\r\n", data.size());
  out.append(data);
  out += "\r\n";
  return out;
}

}  // namespace cstor::http
