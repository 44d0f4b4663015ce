// Server: an HTTP/1.1 server (plain or TLS) on Asio, built so that connections and
// long-lived responses cost memory, not threads.
//
// One I/O thread owns every socket: it accepts, runs TLS handshakes, reads and frames
// requests, and writes responses. A complete request goes to a fixed pool of worker
// threads, where the handler may block (a commit's fsync); its response comes back to the
// I/O thread to be written. A streamed response (a watch, a followed log) holds no thread
// at all: whoever produces its data writes to the Stream, from any thread.
//
// Bad input is bounded: a request head must arrive within `head_timeout` of its first
// byte (or of the connection's opening), a body within `body_timeout`, heads and bodies
// are limited in size (431, 413), an idle keep-alive connection is closed after
// `idle_timeout`, and a stream whose client stops reading is cut off once
// `max_stream_backlog` bytes wait for it.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <openssl/ssl.h>

#include "base/result.h"
#include "http/message.h"

namespace cstor::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  int port = 0;                       // 0: any free port
  // Set for TLS: configures the context (certificate, key, client CAs); false refuses.
  std::function<bool(SSL_CTX&)> tls;
  size_t workers = 16;                // threads that run handlers
  size_t max_head_bytes = 1 << 20;    // request line and header fields (Go's default)
  size_t max_body_bytes = 3 << 20;
  std::chrono::milliseconds head_timeout{std::chrono::seconds(32)};
  std::chrono::milliseconds body_timeout{std::chrono::seconds(60)};
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(90)};
  size_t max_stream_backlog = 32 << 20;
  // Writes the response to a request the server refused before any handler saw it
  // (400, 408, 413, 431, 501, 505). By default a plain-text message.
  std::function<void(int status, const std::string& message, Response&)> error_response;
};

class Server {
 public:
  using Handler = std::function<void(const Request&, Response&)>;

  // Listens and starts serving. The handler runs on the worker threads, concurrently.
  static Result<std::unique_ptr<Server>> Start(ServerOptions options, Handler handler);
  ~Server();  // stops
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;
  // Connections open now (for tests and benchmarks).
  size_t connections() const;
  // Stops accepting, lets running handlers finish and their responses go out, then closes
  // every connection and ends every stream. Idempotent.
  void Stop();

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cstor::http
