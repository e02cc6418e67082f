#pragma once
// The seam between a session actor and its socket. The connection (net/) implements it; actors
// only call it. Every call is thread-safe and never blocks.
#include "actors/session_actor.hpp"
#include "proto/frame.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace tether {

// What happened to a frame handed to send().
enum class send_result {
  queued,   // in the connection's write queue
  dropped,  // a droppable frame refused because the queue is filling up; the connection stays
  closed,   // the connection is closing or closed (or the frame overflowed the queue and closed it)
};

// How much a frame matters. `droppable` frames (typing, presence and occupancy updates: the next
// one supersedes them) are dropped once the write queue holds half of limits.max_outbound_bytes, so
// a slow reader loses those first instead of being disconnected (§8).
enum class delivery { must, droppable };

class client_link {
public:
  virtual ~client_link() = default;
  // Unique per connection for the life of the process: every message the connection sends its
  // actor carries it, so a session ignores what a connection it already let go of still says.
  virtual link_id id() const = 0;
  // Queues a pre-framed frame. A `must` frame past limits.max_outbound_bytes closes the
  // connection (1008, reported like any close) and returns `closed`.
  virtual send_result send(frame f, delivery d = delivery::must) = 0;
  // Bytes queued and not yet written to the socket (a channel's replay waits while it is high).
  virtual std::size_t queued_bytes() { return 0; }
  // Queues a WebSocket ping control frame (the server side of the heartbeat).
  virtual void ping() = 0;
  // Sends a close frame after what is queued, then shuts the socket down. Idempotent.
  virtual void close(std::uint16_t code, const std::string& reason) = 0;

  // The resume hand-over (docs/architecture.md, "Resume"). hold(): keep what is read from now on
  // instead of handing it to the actor, then send the actor (held_atom, id) — the last thing it
  // gets from this connection until rebind. rebind(to): hand everything kept, in order, to `to`,
  // which receives everything from then on. If the connection closed before hold() took effect,
  // the actor got (closed_atom, ...) and no held_atom.
  virtual void hold() = 0;
  virtual void rebind(session_actor to) = 0;
};

}  // namespace tether
