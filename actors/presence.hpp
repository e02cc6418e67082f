#pragma once
// Presence (PROTOCOL.md §7): who is online, counted per user in this one place, and the `online`
// channel that shows it. The directory tells it of every session that registers (opened, resumed,
// restored after a restart) and of every one that ends; a user is online from its first live
// session until its last one ends, so a second tab, a resume (the session lives on through its
// window) or a tab switch never shows as offline-online. A cluster extends this actor, not its
// callers.
#include "actors/channel.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <string>

namespace tether {

using online_atom = caf::atom_constant<caf::atom("online")>;
using offline_atom = caf::atom_constant<caf::atom("offline")>;

using presence_actor = caf::typed_actor<
    // session_id, user_id, full name (the token's name, else the user id): a session is live
    caf::reacts_to<online_atom, std::string, std::string, std::string>,
    // session_id: it ended
    caf::reacts_to<offline_atom, std::string>,
    // `subscribed` (unless quiet), then `presence` with the subscriber's ref; then every change
    caf::replies_to<subscribe_atom, channel_subscriber>::with<bool>,
    caf::reacts_to<unsubscribe_atom, unsubscribe_request>,
    // -> users online
    caf::replies_to<count_atom>::with<std::int64_t>>;

presence_actor spawn_presence(caf::actor_system& sys);

}  // namespace tether
