#pragma once
// The session actor: one per connection. It owns the user, the tracked files, the heartbeat,
// last activity and the resume window, and decides the connection's fate: every way a session
// ends goes through its one end_session path. It never touches the socket, only a client_link.
#include "actors/atoms.hpp"
#include "actors/cleaner.hpp"
#include "actors/client_link.hpp"
#include "actors/directory.hpp"
#include "actors/storage.hpp"
#include "config/settings.hpp"
#include "net/codec.hpp"
#include "net/jwt.hpp"

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>

#include <memory>
#include <optional>
#include <string>

namespace tether {

// From the connection: the socket is gone. (closed_atom, std::uint16_t code, bool by_server)
// `by_server` is true when the server closed it for a protocol violation or a limit.
using closed_atom = caf::atom_constant<caf::atom("closed")>;
// From the connection: a control frame (pong or ping) arrived; counts as activity.
using activity_atom = caf::atom_constant<caf::atom("activity")>;
// From a resuming session: hand over your state and quit. -> session_snapshot
using takeover_atom = caf::atom_constant<caf::atom("takeover")>;

struct session_snapshot {
  std::string session_id;
  std::string user_id;
};

struct session_deps {
  storage_actor storage;
  directory_actor directory;
  cleaner_actor cleaner;
  std::shared_ptr<const settings> cfg;
};

struct session_start {
  std::shared_ptr<client_link> link;         // null for a session restored after a restart
  std::optional<jwt::claims> user;           // set when the upgrade request was authenticated
  std::string resume_token;                  // ?resume= on the upgrade request
  std::optional<persisted_session> restored; // a session waiting for resume since before a restart
};

// The connection sends: codec::client_message, codec::decode_error, activity_atom, closed_atom.
// The supervisor/directory send: sweep_atom, shutdown_atom (-> bool once persisted).
caf::actor spawn_session(caf::actor_system& sys, const session_deps& deps, session_start start);

}  // namespace tether

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::codec::client_message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::codec::decode_error)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::session_snapshot)
