// TcpTransport: the replication protocol's Transport over TCP, on an EventLoop. It frames
// bytes with wire::FrameReader, queues outgoing frames per connection, and drives one
// Handler (a ReplicatedVolume or a ReplicaNode) with connections, frames and ticks.
//
// A peer that sends bytes which do not decode (bad magic, version, checksum or size) gets a
// Reject frame that says what was wrong, and its connection is closed; the Handler sees
// OnClosed with the same Protocol error. A peer that stops reading while frames pile up
// for it (more than max_queued_bytes) is cut off rather than allowed to grow memory.
//
// Threading: construct and Listen from any thread before the loop starts, or on the loop;
// everything else on the loop. The Handler is called only from the loop, never from inside
// Send, Close or Connect.
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <string>

#include "base/result.h"
#include "net/event_loop.h"
#include "replication/transport.h"

namespace cstor::net {

struct TcpOptions {
  uint64_t tick_micros = 100'000;
  size_t max_queued_bytes = 256u << 20;  // per connection, waiting to be sent
};

// Splits "host:port" (or "[v6]:port"). Port must be 0..65535.
Result<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& address);

class TcpTransport : public replication::Transport {
 public:
  TcpTransport(EventLoop* loop, replication::Handler* handler, TcpOptions options = {});
  ~TcpTransport() override;

  // For a handler that needs the listening address to be built: set it before the loop
  // runs.
  void SetHandler(replication::Handler* handler) { handler_ = handler; }
  // Accepts connections on host:port (port 0: any free port). Answers the address bound,
  // as "host:port".
  Result<std::string> Listen(const std::string& address);
  // Starts calling the handler's OnTick.
  void StartTicks();
  // Closes the listeners and every connection (the handler is not told), stops ticks.
  void Shutdown();

  // ---- Transport ----
  void Send(replication::ConnId conn, wire::EncodedFrame frame) override;
  void Close(replication::ConnId conn, const Status& why) override;
  replication::ConnId Connect(const std::string& address) override;
  uint64_t NowMicros() override;
  wire::Nonce NewNonce() override;

  // Connections open now (for status output and tests).
  size_t connections() const { return conns_.size(); }

 private:
  struct Conn;
  void Accept(size_t listener);
  void Opened(const std::shared_ptr<Conn>& c, bool outgoing);
  void ReadMore(const std::shared_ptr<Conn>& c);
  void WriteMore(const std::shared_ptr<Conn>& c);
  // Ends a connection from inside (an error), telling the handler.
  void Fail(const std::shared_ptr<Conn>& c, const Status& why);
  void Tick();

  EventLoop* loop_;
  replication::Handler* handler_;
  TcpOptions options_;
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> listeners_;
  std::map<replication::ConnId, std::shared_ptr<Conn>> conns_;
  replication::ConnId next_conn_ = 1;
  asio::steady_timer ticker_;
  bool ticking_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace cstor::net
