#pragma once
// The session actor's typed interface: what its connection, the directory and another
// connection's actor may send it. Its own header so that the directory (which holds session
// handles) and the session (which holds the directory's) can both see it.
#include "actors/atoms.hpp"
#include "proto/codec.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tether {

class client_link;
using link_id = std::uint64_t;

using closed_atom = caf::atom_constant<caf::atom("closed")>;
using activity_atom = caf::atom_constant<caf::atom("activity")>;
using queued_atom = caf::atom_constant<caf::atom("queued")>;
using held_atom = caf::atom_constant<caf::atom("held")>;
using attach_atom = caf::atom_constant<caf::atom("attach")>;
using switched_atom = caf::atom_constant<caf::atom("switched")>;
using evict_atom = caf::atom_constant<caf::atom("evict")>;

// A connection that authenticated with a session's resume token asks that session's actor to
// take it over (docs/architecture.md, "Resume"). The link is on hold: `held` is everything it
// read before holding, in order, for the session to handle after `connected`.
struct attach_request {
  std::shared_ptr<client_link> link;
  std::string user_id;
  std::string resume_token;
  std::vector<codec::client_message> held;
  boost::json::value connect_ref;  // the `connect` that asked for the resume, if any
};

using session_actor = caf::typed_actor<
    // From the connection, each tagged with the link it came from: a decoded message, a refused
    // frame, a control frame (activity), and the end of the socket (code, by_server: the server
    // closed it for a violation or a limit).
    caf::reacts_to<link_id, codec::client_message>,
    caf::reacts_to<link_id, codec::decode_error>,
    caf::reacts_to<activity_atom, link_id>,
    caf::reacts_to<closed_atom, link_id, std::uint16_t, bool>,
    // From the connection after client_link::hold(): nothing more comes from it until rebind.
    caf::reacts_to<held_atom, link_id>,
    // From the directory: the stale sweep, and the position while waiting for a place.
    caf::reacts_to<sweep_atom>,
    caf::reacts_to<queued_atom, std::int64_t>,
    // From another connection's actor: take over this connection -> true when this session now
    // owns it (it answered `connected`, resumed), false when it is not resumable with that token.
    caf::replies_to<attach_atom, attach_request>::with<bool>,
    // From a room: room_id, session_id of this user's session that took this one's place there.
    caf::reacts_to<switched_atom, std::string, std::string>,
    // From the directory: this session's guest was deleted (inactive): end now, reason `inactive`.
    caf::reacts_to<evict_atom>,
    // Close with 1001 and persist for resume; -> true once persisted.
    // (Its timers are not messages: see actors/timer.hpp.)
    caf::replies_to<shutdown_atom>::with<bool>>;

}  // namespace tether

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::codec::client_message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::codec::decode_error)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::attach_request)
