#pragma once
// The seam between a session actor and its socket. The connection (net/) implements it; the
// session actor only calls it. Every call is thread-safe and never blocks.
#include "proto/frame.hpp"

#include <cstdint>
#include <string>

namespace tether {

class client_link {
public:
  virtual ~client_link() = default;
  // Queues a pre-framed frame. Past limits.max_outbound_bytes the connection closes itself (1008)
  // and reports it like any other close; the frame is dropped.
  virtual void send(frame f) = 0;
  // Queues a WebSocket ping control frame (the server side of the heartbeat).
  virtual void ping() = 0;
  // Sends a close frame after what is queued, then shuts the socket down. Idempotent.
  virtual void close(std::uint16_t code, const std::string& reason) = 0;
};

}  // namespace tether
