#include "http/server.h"

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <strings.h>
#include <thread>
#include <unordered_map>

#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>

#include "base/log.h"
#include "base/mutex.h"

namespace cstor::http {
namespace {

using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr Clock::time_point kNever = Clock::time_point::max();
constexpr size_t kReadSize = 4096;

}  // namespace

// Every connection is driven by the I/O thread only; workers and stream writers reach it
// by posting to the io_context, so its state needs no lock. Only the stream backlog is
// shared with writers, as an atomic.
class ConnectionBase : public std::enable_shared_from_this<ConnectionBase> {
 public:
  virtual ~ConnectionBase() = default;
  virtual void Start() = 0;
  virtual void Close() = 0;
  // Called by Stop: finish what is being written, then close; close now when idle.
  virtual void Drain() = 0;
  virtual void Send(std::string data) = 0;
  virtual void FinishStream() = 0;

  std::atomic<size_t> backlog{0};  // stream bytes queued and not yet written
  std::atomic<bool> closed{false};
};

class StreamImpl final : public Stream {
 public:
  StreamImpl(std::weak_ptr<ConnectionBase> conn, asio::io_context& io, size_t limit)
      : conn_(std::move(conn)), io_(io), limit_(limit) {}

  bool Write(std::string data) override {
    if (data.empty()) return Open();
    // Under one lock with Finish, so that no chunk is posted after the last one.
    std::lock_guard<std::mutex> lock(mu_);
    auto conn = conn_.lock();
    if (!conn || !open_ || conn->closed) {
      open_ = false;
      return false;
    }
    if (conn->backlog.fetch_add(data.size()) + data.size() > limit_) {
      // The client stopped reading; holding more for it would let one client take the
      // server's memory. Cut it off: it reconnects, as after any broken watch.
      CSTOR_LOG_WARN("http: a stream's client fell {} bytes behind; closing it", conn->backlog.load());
      open_ = false;
      asio::post(io_, [conn] { conn->Close(); });
      return false;
    }
    asio::post(io_, [conn, chunk = FormatChunk(data)]() mutable { conn->Send(std::move(chunk)); });
    return true;
  }

  void Finish() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (open_.exchange(false)) {
      if (auto conn = conn_.lock()) asio::post(io_, [conn] { conn->FinishStream(); });
    }
  }

  bool Open() const override {
    auto conn = conn_.lock();
    return open_ && conn && !conn->closed;
  }

  size_t Backlog() const override {
    auto conn = conn_.lock();
    return conn ? conn->backlog.load() : 0;
  }

  void Cut() { open_ = false; }

 private:
  std::weak_ptr<ConnectionBase> conn_;
  asio::io_context& io_;
  size_t limit_;
  std::mutex mu_;
  std::atomic<bool> open_{true};
};

class Server::Impl {
 public:
  Impl(ServerOptions options, Handler handler)
      : opts_(std::move(options)), handler_(std::move(handler)), workers_(opts_.workers) {}
  ~Impl() { Stop(); }

  Status Listen();
  void Accept();
  void Stop();

  void Register(const std::shared_ptr<ConnectionBase>& c) {
    MutexLock lock(&mu_);
    conns_[c.get()] = c;
  }
  void Unregister(ConnectionBase* c) {
    MutexLock lock(&mu_);
    conns_.erase(c);
  }
  size_t Count() const {
    MutexLock lock(&mu_);
    return conns_.size();
  }

  // Runs the handler on a worker; the response goes back to the connection on the I/O thread.
  void Dispatch(std::shared_ptr<Request> req,
                std::function<void(std::shared_ptr<Response>)> done) {
    asio::post(workers_, [this, req = std::move(req), done = std::move(done)] {
      auto res = std::make_shared<Response>();
      try {
        handler_(*req, *res);
      } catch (const std::exception& e) {
        CSTOR_LOG_ERROR("http: {} {}: {}", req->method, req->path, e.what());
        *res = Response{};
        ErrorResponse(500, e.what(), *res);
      }
      done(std::move(res));
    });
  }

  void ErrorResponse(int status, const std::string& message, Response& res) const {
    res.status = status;
    if (opts_.error_response) {
      opts_.error_response(status, message, res);
    } else {
      res.set_content(message + "\n", "text/plain; charset=utf-8");
    }
  }

  // Declared first so that connections destroyed with the io_context can still unregister.
  mutable Mutex mu_;
  std::unordered_map<ConnectionBase*, std::weak_ptr<ConnectionBase>> conns_ GUARDED_BY(mu_);

  ServerOptions opts_;
  Handler handler_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::optional<asio::ssl::context> ssl_;
  tcp::acceptor acceptor_{io_};
  asio::steady_timer accept_retry_{io_};
  asio::thread_pool workers_;
  std::thread io_thread_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;

  std::vector<std::shared_ptr<ConnectionBase>> All() {
    MutexLock lock(&mu_);
    std::vector<std::shared_ptr<ConnectionBase>> out;
    for (auto& [_, w] : conns_) {
      if (auto c = w.lock()) out.push_back(std::move(c));
    }
    return out;
  }
};

namespace {

template <typename Socket>
class Connection final : public ConnectionBase {
 public:
  Connection(Server::Impl& server, Socket socket)
      : server_(server), socket_(std::move(socket)), timer_(server.io_) {}
  ~Connection() override { server_.Unregister(this); }

  void Start() override {
    server_.Register(shared_from_this());
    SetDeadline(Clock::now() + server_.opts_.head_timeout);
    ArmTimer();
    if constexpr (std::is_same_v<Socket, asio::ssl::stream<tcp::socket>>) {
      socket_.async_handshake(asio::ssl::stream_base::server, [self = Self()](std::error_code ec) {
        if (ec) return self->Close();
        SSL* ssl = self->socket_.native_handle();
        X509* peer = SSL_get1_peer_certificate(ssl);
        self->client_certificate_ = peer != nullptr && SSL_get_verify_result(ssl) == X509_V_OK;
        X509_free(peer);
        self->BeginRequest();
      });
    } else {
      BeginRequest();
    }
  }

  void Close() override {
    if (closed.exchange(true)) return;
    if (stream_) stream_->Cut();
    std::error_code ec;
    socket_.lowest_layer().shutdown(tcp::socket::shutdown_both, ec);
    socket_.lowest_layer().close(ec);
    timer_.cancel();
    server_.Unregister(this);
  }

  void Drain() override {
    if (closed) return;
    if (!writing_ && phase_ != Phase::kHandling) return Close();
    close_after_write_ = true;
    SetDeadline(Clock::now() + std::chrono::seconds(1));
  }

  void Send(std::string data) override {
    if (closed) return;
    out_.push_back(std::move(data));
    if (!writing_) WriteQueued();
  }

  void FinishStream() override {
    if (closed || phase_ != Phase::kStreaming) return;
    Send(FormatChunk(""));
    stream_.reset();
    if (!keep_alive_ || server_.stopping_) {
      close_after_write_ = true;
      return;
    }
    BeginRequest();
  }

 private:
  // kLinger: after refusing a request, input is read and dropped for a moment so that the
  // client sees the answer rather than a reset from unread data.
  enum class Phase { kHead, kBody, kHandling, kStreaming, kLinger };

  std::shared_ptr<Connection> Self() { return std::static_pointer_cast<Connection>(shared_from_this()); }

  // The timer is re-armed by its handler; an earlier deadline cancels the wait so that
  // the handler re-arms it sooner.
  void SetDeadline(Clock::time_point t) {
    const bool sooner = t < deadline_;
    deadline_ = t;
    if (sooner) timer_.cancel();
  }

  // One timer per connection, re-armed to the current deadline whenever it fires early.
  void ArmTimer() {
    if (closed) return;
    if (deadline_ == kNever) {
      timer_.expires_after(std::chrono::hours(24));
    } else {
      timer_.expires_at(deadline_);
    }
    timer_.async_wait([self = Self()](std::error_code) {
      if (self->closed) return;
      if (Clock::now() >= self->deadline_) {
        // A head or body that did not arrive in time gets a 408 on its way out; an idle
        // connection is simply closed.
        if ((self->phase_ == Phase::kHead && !self->buffer_.empty()) || self->phase_ == Phase::kBody) {
          self->Refuse(408, "the request did not arrive in time");
          self->SetDeadline(Clock::now() + std::chrono::seconds(1));
        } else {
          return self->Close();
        }
      }
      self->ArmTimer();
    });
  }

  void BeginRequest() {
    phase_ = Phase::kHead;
    req_ = std::make_shared<Request>();
    req_->client_certificate = client_certificate_;
    chunked_.reset();
    if (buffer_.capacity() > 64 * 1024 && buffer_.size() < kReadSize) buffer_.shrink_to_fit();
    // Idle time counts once the response has gone out (WriteQueued), not while a slow
    // client reads it.
    if (!buffer_.empty()) {
      SetDeadline(Clock::now() + server_.opts_.head_timeout);
    } else {
      SetDeadline(writing_ || !out_.empty() ? kNever : Clock::now() + server_.opts_.idle_timeout);
    }
    Parse();
  }

  // Reads into a buffer of its own, so that buffer_ may be parsed while a read is pending
  // (a stream that ends with the client's next request already on its way).
  void ReadMore() {
    if (reading_ || closed) return;
    reading_ = true;
    if (!read_buf_) read_buf_ = std::make_unique<char[]>(kReadSize);
    socket_.async_read_some(asio::buffer(read_buf_.get(), kReadSize), [self = Self()](std::error_code ec, size_t n) {
      self->reading_ = false;
      if (self->closed) return;
      if (ec) {
        // A client that stops sending may still read: what it asked for goes out first.
        const bool owed = self->phase_ == Phase::kHandling || self->writing_ || !self->out_.empty();
        if (ec == asio::error::eof && owed && self->phase_ != Phase::kStreaming && self->phase_ != Phase::kLinger) {
          self->peer_closed_ = true;
          self->close_after_write_ = true;
          return;
        }
        return self->Close();
      }
      const bool first = self->buffer_.empty() && n > 0;
      self->buffer_.append(self->read_buf_.get(), n);
      self->OnRead(first);
    });
  }

  void OnRead(bool first_bytes) {
    switch (phase_) {
      case Phase::kHead:
        if (first_bytes) SetDeadline(Clock::now() + server_.opts_.head_timeout);
        return Parse();
      case Phase::kBody:
        return Parse();
      case Phase::kHandling:
        return;  // kept for after the response
      case Phase::kStreaming:
        // Reads go on while streaming only to notice a client that leaves; a client that
        // sends on and on is not served.
        if (buffer_.size() > server_.opts_.max_head_bytes) return Close();
        return ReadMore();
      case Phase::kLinger:
        lingered_ += buffer_.size();
        buffer_.clear();
        if (lingered_ > 256 * 1024) return Close();
        return ReadMore();
    }
  }

  void Parse() {
    if (closed) return;
    if (phase_ == Phase::kHead) {
      // A client may send blank lines before a request (RFC 9112 2.2).
      size_t skip = 0;
      while (skip + 1 < buffer_.size() && buffer_[skip] == '\r' && buffer_[skip + 1] == '\n') skip += 2;
      if (skip > 0) buffer_.erase(0, skip);
      const size_t end = buffer_.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (buffer_.size() > server_.opts_.max_head_bytes) {
          return Refuse(431, fmt::format("the request head is limited to {} bytes", server_.opts_.max_head_bytes));
        }
        return ReadMore();
      }
      if (end > server_.opts_.max_head_bytes) {
        return Refuse(431, fmt::format("the request head is limited to {} bytes", server_.opts_.max_head_bytes));
      }
      if (auto err = ParseRequestHead(std::string_view(buffer_).substr(0, end), *req_)) {
        return Refuse(err->status, err->message);
      }
      buffer_.erase(0, end + 4);
      keep_alive_ = req_->KeepAlive();
      if (auto err = BodyFramingOf(*req_, server_.opts_.max_body_bytes, framing_)) {
        return Refuse(err->status, err->message);
      }
      if (!framing_.chunked && framing_.length == 0) return Dispatch();
      if (framing_.chunked) chunked_.emplace(server_.opts_.max_body_bytes);
      phase_ = Phase::kBody;
      SetDeadline(Clock::now() + server_.opts_.body_timeout);
      const std::string expect = req_->get_header_value("Expect");
      if (!expect.empty()) {
        if (strcasecmp(expect.c_str(), "100-continue") != 0) return Refuse(417, "only Expect: 100-continue is understood");
        if (buffer_.empty()) Send("HTTP/1.1 100 Continue\r\n\r\n");
      }
    }
    if (phase_ == Phase::kBody) {
      if (chunked_) {
        std::optional<ParseError> err;
        const size_t used = chunked_->Feed(buffer_, req_->body, err);
        buffer_.erase(0, used);
        if (err) return Refuse(err->status, err->message);
        if (chunked_->done()) return Dispatch();
      } else {
        const size_t take = std::min(framing_.length - req_->body.size(), buffer_.size());
        req_->body.append(buffer_, 0, take);
        buffer_.erase(0, take);
        if (req_->body.size() == framing_.length) return Dispatch();
      }
      return ReadMore();
    }
  }

  void Dispatch() {
    if (server_.stopping_) return Close();
    phase_ = Phase::kHandling;
    SetDeadline(kNever);
    server_.Dispatch(req_, [self = Self(), req = req_](std::shared_ptr<Response> res) {
      if (!res->stream) {
        asio::post(self->server_.io_, [self, req, res] { self->Respond(*req, *res); });
        return;
      }
      auto stream = std::make_shared<StreamImpl>(self, self->server_.io_, self->server_.opts_.max_stream_backlog);
      asio::post(self->server_.io_, [self, res, stream] {
        if (self->closed) return stream->Cut();
        self->stream_ = stream;
        self->phase_ = Phase::kStreaming;
        self->Send(FormatHead(*res, /*chunked=*/true, self->keep_alive_, 0));
        self->ReadMore();
      });
      try {
        res->stream(stream);
      } catch (const std::exception& e) {
        CSTOR_LOG_ERROR("http: starting the stream of {} {}: {}", req->method, req->path, e.what());
        stream->Finish();
      }
    });
  }

  void Respond(const Request& req, const Response& res) {
    if (closed) return;
    const bool keep = keep_alive_ && !server_.stopping_ && !peer_closed_;
    std::string head = FormatHead(res, false, keep, res.body.size());
    if (req.method != "HEAD") head += res.body;
    Send(std::move(head));
    if (!keep) {
      close_after_write_ = true;
      return;
    }
    BeginRequest();
  }

  // Answers a request the server will not serve, then closes the connection: after a
  // framing error nothing that follows on it can be trusted.
  void Refuse(int status, const std::string& message) {
    if (closed) return;
    Response res;
    server_.ErrorResponse(status, message, res);
    keep_alive_ = false;
    phase_ = Phase::kHandling;
    Send(FormatHead(res, false, false, res.body.size()) + res.body);
    close_after_write_ = true;
    linger_ = true;
  }

  void Linger() {
    phase_ = Phase::kLinger;
    std::error_code ec;
    socket_.lowest_layer().shutdown(tcp::socket::shutdown_send, ec);
    buffer_.clear();
    SetDeadline(Clock::now() + std::chrono::seconds(1));
    ReadMore();
  }

  void WriteQueued() {
    writing_ = true;
    // Everything queued goes out in one gathered write.
    batch_.clear();
    batch_.reserve(out_.size());
    for (std::string& s : out_) batch_.push_back(std::move(s));
    out_.clear();
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(batch_.size());
    for (const std::string& s : batch_) buffers.emplace_back(asio::buffer(s));
    asio::async_write(socket_, buffers, [self = Self()](std::error_code ec, size_t n) {
      self->writing_ = false;
      self->batch_.clear();
      if (ec || self->closed) return self->Close();
      // Stream bytes only count against the backlog; others never reach it.
      size_t b = self->backlog.load();
      while (b > 0 && !self->backlog.compare_exchange_weak(b, b > n ? b - n : 0)) {
      }
      if (!self->out_.empty()) return self->WriteQueued();
      if (self->close_after_write_) return self->linger_ && !self->peer_closed_ ? self->Linger() : self->Close();
      if (self->phase_ == Phase::kHead && self->buffer_.empty()) {
        self->SetDeadline(Clock::now() + self->server_.opts_.idle_timeout);
      }
    });
  }

  Server::Impl& server_;
  Socket socket_;
  asio::steady_timer timer_;
  Clock::time_point deadline_ = kNever;
  Phase phase_ = Phase::kHead;
  std::string buffer_;  // bytes read and not yet parsed
  std::unique_ptr<char[]> read_buf_;
  std::shared_ptr<Request> req_;
  BodyFraming framing_;
  std::optional<ChunkedDecoder> chunked_;
  bool keep_alive_ = true;
  bool client_certificate_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool close_after_write_ = false;
  bool linger_ = false;       // drain input before closing (after a refusal)
  bool peer_closed_ = false;  // the client sent EOF
  size_t lingered_ = 0;
  std::deque<std::string> out_;
  std::vector<std::string> batch_;
  std::shared_ptr<StreamImpl> stream_;
};

}  // namespace

Status Server::Impl::Listen() {
  if (opts_.tls) {
    ssl_.emplace(asio::ssl::context::tls_server);
    if (!opts_.tls(*ssl_->native_handle())) return Status::InvalidArgument("http: the TLS certificate or key is unusable");
    // An idle connection gives its record buffers back (about 34 KiB each).
    SSL_CTX_set_mode(ssl_->native_handle(), SSL_MODE_RELEASE_BUFFERS);
  }
  std::error_code ec;
  const auto address = asio::ip::make_address(opts_.address, ec);
  if (ec) return Status::InvalidArgument(fmt::format("http: bad listen address \"{}\"", opts_.address));
  const tcp::endpoint endpoint(address, static_cast<uint16_t>(opts_.port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable(fmt::format("cannot listen on {}:{}: {}", opts_.address, opts_.port, ec.message()));
  port_ = acceptor_.local_endpoint().port();
  return Status::Ok();
}

void Server::Impl::Accept() {
  acceptor_.async_accept([this](std::error_code ec, tcp::socket socket) {
    if (stopping_ || !acceptor_.is_open()) return;
    if (ec) {
      // Out of descriptors, most likely: wait for some to be released instead of spinning.
      CSTOR_LOG_WARN("http: accept failed: {}", ec.message());
      accept_retry_.expires_after(std::chrono::milliseconds(100));
      accept_retry_.async_wait([this](std::error_code e) {
        if (!e) Accept();
      });
      return;
    }
    std::error_code opt;
    socket.set_option(tcp::no_delay(true), opt);
    if (ssl_) {
      std::make_shared<Connection<asio::ssl::stream<tcp::socket>>>(
          *this, asio::ssl::stream<tcp::socket>(std::move(socket), *ssl_))->Start();
    } else {
      std::make_shared<Connection<tcp::socket>>(*this, std::move(socket))->Start();
    }
    Accept();
  });
}

void Server::Impl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_ = true;
  asio::post(io_, [this] {
    std::error_code ec;
    acceptor_.close(ec);
    accept_retry_.cancel();
  });
  // Handlers still running finish; their responses are posted to the I/O thread, which
  // writes them while connections drain.
  workers_.join();
  asio::post(io_, [this] {
    for (auto& c : All()) c->Drain();
  });
  guard_.reset();
  if (io_thread_.joinable()) io_thread_.join();
  for (auto& c : All()) c->Close();
}

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options, Handler handler) {
  if (options.workers == 0) options.workers = 1;
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler));
  if (Status s = impl->Listen(); !s.ok()) return s;
  impl->guard_.emplace(impl->io_.get_executor());
  impl->Accept();
  Impl* raw = impl.get();
  impl->io_thread_ = std::thread([raw] { raw->io_.run(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { Stop(); }
int Server::port() const { return impl_->port_; }
size_t Server::connections() const { return impl_->Count(); }
void Server::Stop() { impl_->Stop(); }

}  // namespace cstor::http
