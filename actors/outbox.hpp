#pragma once
// Where a session's frames go: the connection that carries the session right now. Rooms and
// channels hold a session's outbox, not its connection, so that a resume re-binds every member
// handle at once (the session swaps the link) and a closed connection is never kept alive by
// anyone holding the outbox (it holds the link weakly: the connection's own I/O keeps it alive).
#include "actors/client_link.hpp"

#include <atomic>
#include <memory>

namespace tether {

class outbox {
public:
  // Only the owning session binds and unbinds.
  void bind(const std::shared_ptr<client_link>& link);
  void unbind();
  // The connection, or null when the session has none (detached, ended) or it is gone.
  std::shared_ptr<client_link> link() const;
  // `closed` when there is no connection.
  send_result send(frame f, delivery d = delivery::must) const;

private:
  // Held for the copy of a weak_ptr only: a spin lock costs a byte where a mutex costs 40 per
  // session, and is never contended for longer than that copy.
  class spin_guard;
  mutable std::atomic<bool> busy_{false};
  std::weak_ptr<client_link> link_;
};

}  // namespace tether
