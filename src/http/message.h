// HTTP/1.1 messages as the server sees them (RFC 9110, 9112): a parsed request, the
// response a handler fills in, and the parsing steps, kept free of I/O so that each can be
// tested on its own bytes.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cstor::http {

// Header names compare without case (RFC 9110 5.1).
struct CaseInsensitiveLess {
  bool operator()(std::string_view a, std::string_view b) const;
  using is_transparent = void;
};
using Headers = std::multimap<std::string, std::string, CaseInsensitiveLess>;

struct Request {
  std::string method;            // "GET"
  std::string path;              // percent-decoded, without the query
  std::string query;             // as sent, after '?'
  int minor_version = 1;         // HTTP/1.<minor>
  Headers headers;
  std::multimap<std::string, std::string> params;  // the decoded query
  std::string body;
  bool client_certificate = false;  // a TLS client certificate was presented and verified

  std::string get_header_value(std::string_view name) const;
  bool has_param(const std::string& name) const { return params.count(name) > 0; }
  std::string get_param_value(const std::string& name) const;
  // Whether the connection stays open after the response (HTTP/1.1 default, Connection).
  bool KeepAlive() const;
};

// A response body written piece by piece while the connection stays open (a watch, a
// followed log). Thread-safe: any thread may write; pieces go out in the order written.
class Stream {
 public:
  virtual ~Stream() = default;
  // Queues `data` as one chunk. False once the client is gone, the server stops, or the
  // client has fallen so far behind that the stream was cut off; stop writing then.
  virtual bool Write(std::string data) = 0;
  // Ends the body; the connection may carry the next request. Idempotent.
  virtual void Finish() = 0;
  // False once Write would fail.
  virtual bool Open() const = 0;
  // Bytes written and not yet sent. A writer with much to send (a large initial state, a
  // long log) waits while this is high rather than be cut off for it.
  virtual size_t Backlog() const = 0;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond Content-Type/Length
  std::string content_type;
  std::string body;
  // Set for a streamed body: called once the head is queued, from a worker thread.
  std::function<void(std::shared_ptr<Stream>)> stream;

  void set_content(std::string content, std::string type) {
    body = std::move(content);
    content_type = std::move(type);
  }
  void set_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
  void set_stream(std::string type, std::function<void(std::shared_ptr<Stream>)> start) {
    content_type = std::move(type);
    stream = std::move(start);
  }
};

// The reason phrase for a status code ("Not Found").
const char* ReasonPhrase(int status);

// Percent-decoding; `plus_is_space` for query components (application/x-www-form-urlencoded).
// nullopt for a malformed escape.
std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space);

// A failure to parse, with the status the server answers before closing.
struct ParseError {
  int status = 400;
  std::string message;
};

// Parses a request head: the request line and the header fields up to (not including)
// the blank line. Fills method, path, query, params, minor_version and headers.
std::optional<ParseError> ParseRequestHead(std::string_view head, Request& req);

// How the body of a parsed head is framed.
struct BodyFraming {
  bool chunked = false;
  size_t length = 0;  // when not chunked
};
std::optional<ParseError> BodyFramingOf(const Request& req, size_t max_body, BodyFraming& out);

// Incremental decoder of a chunked body (RFC 9112 7.1). Feed it bytes as they arrive.
class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(size_t max_body) : max_body_(max_body) {}
  // Consumes from `in` what it can; appends decoded data to `body`. Returns the bytes
  // consumed; done() once the last chunk and trailers are read; an error when malformed
  // or larger than the limit.
  size_t Feed(std::string_view in, std::string& body, std::optional<ParseError>& error);
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kSize, kData, kDataEnd, kTrailer, kDone };
  State state_ = State::kSize;
  size_t remaining_ = 0;
  size_t max_body_;
};

// Serializes a response head; `chunked` for a streamed body, else Content-Length.
std::string FormatHead(const Response& res, bool chunked, bool keep_alive, size_t content_length);
// One chunk of a chunked body; an empty `data` is the last chunk.
std::string FormatChunk(std::string_view data);

}  // namespace cstor::http
