// The seam between the replication protocol's logic and the world. The target's
// ReplicatedVolume and the replica's ReplicaNode are state machines: they react to
// connections, frames and clock ticks (Handler) and act through a Transport. Production
// implements Transport over Asio TCP sockets (net/); the deterministic simulation (sim/)
// implements it over a simulated network and clock. The logic never touches a socket.
//
// Threading contract: a Handler's methods are called from one thread at a time (its event
// loop), and it calls its Transport only from there. A Transport never calls back into the
// Handler from inside Send, Close or Connect: every callback comes later, from the loop.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "wire/frame.h"
#include "wire/messages.h"

namespace cstor::replication {

using ConnId = uint64_t;

class Transport {
 public:
  virtual ~Transport() = default;
  // Queues a frame on a connection. Frames on one connection arrive in order.
  virtual void Send(ConnId conn, wire::EncodedFrame frame) = 0;
  // Closes a connection; the Handler then gets OnClosed for it.
  virtual void Close(ConnId conn, const Status& why) = 0;
  // Starts connecting to "host:port". The Handler gets OnConnected(conn, true) on success,
  // or OnClosed(conn, error) on failure.
  virtual ConnId Connect(const std::string& address) = 0;
  virtual uint64_t NowMicros() = 0;
  // Fresh bytes for authentication nonces (cryptographic in production, seeded in
  // simulation).
  virtual wire::Nonce NewNonce() = 0;
};

class Handler {
 public:
  virtual ~Handler() = default;
  // A connection is up: one we asked for (outgoing = true) or one a listener accepted.
  virtual void OnConnected(ConnId conn, bool outgoing) = 0;
  virtual void OnFrame(ConnId conn, wire::Frame frame) = 0;
  // The connection is gone (closed by either side, reset, or never established).
  virtual void OnClosed(ConnId conn, const Status& why) = 0;
  // Called periodically (every few hundred milliseconds) to run timers.
  virtual void OnTick() = 0;
};

// Sends a request or response frame built from a payload.
inline wire::EncodedFrame MakeFrame(wire::Op op, uint64_t request_id, std::string payload,
                                    bool response = false, Code status = Code::kOk) {
  return wire::Encode(wire::Frame{op, response, request_id, status, std::move(payload)});
}

}  // namespace cstor::replication
