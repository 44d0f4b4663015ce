#include "net/tcp_transport.h"

#include <fmt/format.h>

#include <array>
#include <asio/connect.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>
#include <charconv>
#include <chrono>
#include <deque>

#include "base/log.h"
#include "wire/auth.h"

namespace cstor::net {

using asio::ip::tcp;
using replication::ConnId;

namespace {

constexpr size_t kReadChunk = 256 * 1024;
constexpr size_t kMaxFramesPerWrite = 64;

std::string Format(const tcp::endpoint& e) {
  if (e.address().is_v6()) return fmt::format("[{}]:{}", e.address().to_string(), e.port());
  return fmt::format("{}:{}", e.address().to_string(), e.port());
}

}  // namespace

Result<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return Status::InvalidArgument(
        fmt::format("address '{}' is not host:port (for example 127.0.0.1:6060)", address));
  }
  std::string host = address.substr(0, colon);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string_view port_text(address.data() + colon + 1, address.size() - colon - 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return Status::InvalidArgument(fmt::format("address '{}' has a bad port", address));
  }
  return std::pair{host, static_cast<uint16_t>(port)};
}

struct TcpTransport::Conn {
  Conn(ConnId i, asio::io_context& io) : id(i), socket(io), resolver(io) {}
  ConnId id;
  tcp::socket socket;
  tcp::resolver resolver;
  std::string peer;
  wire::FrameReader reader;
  std::array<std::byte, kReadChunk> buffer;
  std::deque<wire::EncodedFrame> queue;
  size_t queued_bytes = 0;
  size_t in_write = 0;  // frames at the head of the queue being written now
  bool connected = false;
  bool open = true;  // false once closed: late completions do nothing
};

TcpTransport::TcpTransport(EventLoop* loop, replication::Handler* handler, TcpOptions options)
    : loop_(loop), handler_(handler), options_(options), ticker_(loop->io()) {}

TcpTransport::~TcpTransport() {
  *alive_ = false;
  Shutdown();
}

Result<std::string> TcpTransport::Listen(const std::string& address) {
  CSTOR_ASSIGN_OR_RETURN(auto hp, SplitHostPort(address));
  asio::error_code ec;
  auto ip = asio::ip::make_address(hp.first, ec);
  if (ec) {
    return Status::InvalidArgument(
        fmt::format("listen address '{}': '{}' is not an IP address", address, hp.first));
  }
  auto acceptor = std::make_unique<tcp::acceptor>(loop_->io());
  tcp::endpoint endpoint(ip, hp.second);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable(fmt::format("listen on {}: {}", address, ec.message()));
  std::string bound = Format(acceptor->local_endpoint());
  listeners_.push_back(std::move(acceptor));
  Accept(listeners_.size() - 1);
  return bound;
}

void TcpTransport::Accept(size_t listener) {
  auto alive = alive_;
  listeners_[listener]->async_accept([this, alive, listener](asio::error_code ec,
                                                             tcp::socket socket) {
    if (!*alive || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of file descriptors, or the like: say so, and keep accepting.
      CSTOR_LOG_WARN("accepting a connection failed: {}", ec.message());
    } else {
      auto c = std::make_shared<Conn>(next_conn_++, loop_->io());
      c->socket = std::move(socket);
      conns_[c->id] = c;
      Opened(c, /*outgoing=*/false);
    }
    if (listener < listeners_.size() && listeners_[listener]->is_open()) Accept(listener);
  });
}

ConnId TcpTransport::Connect(const std::string& address) {
  auto c = std::make_shared<Conn>(next_conn_++, loop_->io());
  c->peer = address;
  conns_[c->id] = c;
  auto hp = SplitHostPort(address);
  if (!hp.ok()) {
    Fail(c, hp.status());
    return c->id;
  }
  auto alive = alive_;
  c->resolver.async_resolve(
      hp->first, std::to_string(hp->second),
      [this, alive, c](asio::error_code ec, tcp::resolver::results_type results) {
        if (!*alive || !c->open) return;
        if (ec) {
          return Fail(c, Status::Unavailable(
                             fmt::format("cannot resolve {}: {}", c->peer, ec.message())));
        }
        asio::async_connect(c->socket, results,
                            [this, alive, c](asio::error_code ec2, const tcp::endpoint&) {
                              if (!*alive || !c->open) return;
                              if (ec2) {
                                return Fail(c, Status::Unavailable(fmt::format(
                                                   "cannot connect to {}: {}", c->peer,
                                                   ec2.message())));
                              }
                              Opened(c, /*outgoing=*/true);
                            });
      });
  return c->id;
}

void TcpTransport::Opened(const std::shared_ptr<Conn>& c, bool outgoing) {
  c->connected = true;
  asio::error_code ec;
  c->socket.set_option(tcp::no_delay(true), ec);  // frames are small and latency matters
  auto remote = c->socket.remote_endpoint(ec);
  if (!ec) c->peer = Format(remote);
  handler_->OnConnected(c->id, outgoing);
  if (c->open) ReadMore(c);
  if (c->open) WriteMore(c);  // frames the handler queued from OnConnected
}

void TcpTransport::ReadMore(const std::shared_ptr<Conn>& c) {
  auto alive = alive_;
  c->socket.async_read_some(
      asio::buffer(c->buffer), [this, alive, c](asio::error_code ec, size_t n) {
        if (!*alive || !c->open) return;
        if (ec) {
          std::string why = ec == asio::error::eof ? "the peer closed the connection"
                                                   : ec.message();
          return Fail(c, Status::Unavailable(fmt::format("connection with {}: {}", c->peer, why)));
        }
        if (Status s = c->reader.Feed(std::span(c->buffer.data(), n)); !s.ok()) {
          // Say what was wrong before hanging up; the peer may log it.
          CSTOR_LOG_WARN("closing the connection with {}: {}", c->peer, s.message());
          wire::Frame reject{wire::Op::kReject, false, 0, Code::kProtocol,
                             wire::EncodePayload(wire::Reject{s.message()})};
          c->queue.push_back(wire::Encode(reject));
          c->queued_bytes += c->queue.back()->size();
          Status why = s.WithContext(fmt::format("frame from {}", c->peer));
          c->open = false;  // delivers nothing more; the socket closes after the reject
          conns_.erase(c->id);
          asio::post(loop_->io(), [this, alive, id = c->id, why] {
            if (*alive) handler_->OnClosed(id, why);
          });
          WriteMore(c);
          return;
        }
        while (auto frame = c->reader.Next()) {
          handler_->OnFrame(c->id, std::move(*frame));
          if (!c->open) return;  // the handler closed it
        }
        ReadMore(c);
      });
}

void TcpTransport::Send(ConnId id, wire::EncodedFrame frame) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;  // closed; the handler hears (or heard) OnClosed
  auto c = it->second;
  c->queued_bytes += frame->size();
  c->queue.push_back(std::move(frame));
  if (c->queued_bytes > options_.max_queued_bytes) {
    return Fail(c, Status::Unavailable(fmt::format(
                       "{} is not reading: {} bytes waiting to be sent", c->peer, c->queued_bytes)));
  }
  WriteMore(c);
}

void TcpTransport::WriteMore(const std::shared_ptr<Conn>& c) {
  // Not yet connected: Opened starts the writes.
  if (c->in_write != 0 || c->queue.empty() || !c->connected || !c->socket.is_open()) return;
  std::vector<asio::const_buffer> buffers;
  for (size_t i = 0; i < c->queue.size() && i < kMaxFramesPerWrite; i++) {
    buffers.push_back(asio::buffer(*c->queue[i]));
  }
  c->in_write = buffers.size();
  auto alive = alive_;
  asio::async_write(c->socket, buffers, [this, alive, c](asio::error_code ec2, size_t) {
    if (!*alive) return;
    for (size_t i = 0; i < c->in_write; i++) {
      c->queued_bytes -= c->queue.front()->size();
      c->queue.pop_front();
    }
    c->in_write = 0;
    if (!c->open) {
      // Closed while writing (a protocol error answered with a Reject): hang up now.
      asio::error_code ignored;
      c->socket.shutdown(tcp::socket::shutdown_both, ignored);
      c->socket.close(ignored);
      return;
    }
    if (ec2) {
      return Fail(c, Status::Unavailable(
                         fmt::format("send to {}: {}", c->peer, ec2.message())));
    }
    WriteMore(c);
  });
}

void TcpTransport::Close(ConnId id, const Status& why) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  auto c = it->second;
  conns_.erase(it);
  c->open = false;
  asio::error_code ignored;
  c->resolver.cancel();
  c->socket.shutdown(tcp::socket::shutdown_both, ignored);
  c->socket.close(ignored);
  auto alive = alive_;
  asio::post(loop_->io(), [this, alive, id, why] {
    if (*alive) handler_->OnClosed(id, why);
  });
}

void TcpTransport::Fail(const std::shared_ptr<Conn>& c, const Status& why) {
  if (c->open) Close(c->id, why);
}

void TcpTransport::StartTicks() {
  if (ticking_) return;
  ticking_ = true;
  Tick();
}

void TcpTransport::Tick() {
  ticker_.expires_after(std::chrono::microseconds(options_.tick_micros));
  auto alive = alive_;
  ticker_.async_wait([this, alive](asio::error_code ec) {
    if (!*alive || ec || !ticking_) return;
    handler_->OnTick();
    Tick();
  });
}

void TcpTransport::Shutdown() {
  ticking_ = false;
  ticker_.cancel();
  asio::error_code ignored;
  for (auto& l : listeners_) l->close(ignored);
  for (auto& [id, c] : conns_) {
    c->open = false;
    c->resolver.cancel();
    c->socket.shutdown(tcp::socket::shutdown_both, ignored);
    c->socket.close(ignored);
  }
  conns_.clear();
}

uint64_t TcpTransport::NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

wire::Nonce TcpTransport::NewNonce() { return wire::RandomNonce(); }

}  // namespace cstor::net
