#pragma once
// The session actor's typed interface: what the connection, the directory and other sessions may
// send it. Its own header so that the directory (which holds session handles) and the session
// (which holds the directory's) can both see it.
#include "actors/atoms.hpp"
#include "proto/codec.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>

namespace tether {

using closed_atom = caf::atom_constant<caf::atom("closed")>;
using activity_atom = caf::atom_constant<caf::atom("activity")>;
using takeover_atom = caf::atom_constant<caf::atom("takeover")>;
using queued_atom = caf::atom_constant<caf::atom("queued")>;
using adopted_atom = caf::atom_constant<caf::atom("adopted")>;
using declined_atom = caf::atom_constant<caf::atom("declined")>;

// What a resumed session hands to the one resuming it.
struct session_snapshot {
  std::string session_id;
  std::string user_id;
};

using session_actor = caf::typed_actor<
    // From the connection: a decoded message, a refused frame, a control frame (activity), and
    // the end of the socket (code, by_server: the server closed it for a violation or a limit).
    caf::reacts_to<codec::client_message>,
    caf::reacts_to<codec::decode_error>,
    caf::reacts_to<activity_atom>,
    caf::reacts_to<closed_atom, std::uint16_t, bool>,
    // From the directory: the stale sweep, and the position while waiting for a place.
    caf::reacts_to<sweep_atom>,
    caf::reacts_to<queued_atom, std::int64_t>,
    // From a session resuming this one (the heir): hand over the snapshot, but keep the session
    // until the heir answers: adopted (it owns the session now: quit) or declined (its request
    // timed out: end the session). An heir that goes away first counts as declined (monitored).
    caf::replies_to<takeover_atom>::with<session_snapshot>,
    caf::reacts_to<adopted_atom>,
    caf::reacts_to<declined_atom>,
    // Close with 1001 and persist for resume; -> true once persisted.
    // (Its timers are not messages: see actors/timer.hpp.)
    caf::replies_to<shutdown_atom>::with<bool>>;

}  // namespace tether

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::codec::client_message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::codec::decode_error)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::session_snapshot)
