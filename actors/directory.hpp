#pragma once
// The directory: which sessions are live, for whom, and under which resume token; who may open
// a session (server.max_sessions) and who waits for a place. Sessions register themselves; the
// directory monitors them so that a crashed session is still ended (its files cleaned) rather
// than forgotten.
#include "actors/atoms.hpp"
#include "actors/cleaner.hpp"
#include "actors/presence.hpp"
#include "actors/session_actor.hpp"
#include "actors/storage.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace tether {

using register_atom = caf::atom_constant<caf::atom("register")>;
using unregister_atom = caf::atom_constant<caf::atom("unregist")>;
using lookup_atom = caf::atom_constant<caf::atom("lookup")>;
using admit_atom = caf::atom_constant<caf::atom("admit")>;

using directory_actor = caf::typed_actor<
    // session_id, user_id, resume_token, full name, session actor: adds or updates an entry (a new
    // token replaces the old one, which stops working). Presence hears of the session.
    caf::reacts_to<register_atom, std::string, std::string, std::string, std::string, session_actor>,
    // session_id: the session has ended (only its own actor may say so).
    caf::reacts_to<unregister_atom, std::string>,
    // resume_token, user_id -> the session actor holding that token for that user, or an invalid
    // actor. The session keeps its place; it checks the token again when asked to attach.
    caf::replies_to<lookup_atom, std::string, std::string>::with<session_actor>,
    // A new session asks for a place -> true once it has one (at once, or after waiting in the
    // queue, meanwhile told its 1-based position with queued_atom), false when the queue is full too (server.max_queue) or the server is stopping.
    // Sessions in their resume window hold a place.
    caf::replies_to<admit_atom>::with<bool>,
    // user ids of guests just deleted: each of their sessions ends with reason `inactive`.
    caf::reacts_to<evict_atom, string_list>,
    // Forwarded to every session: each ends itself if stale.
    caf::reacts_to<sweep_atom>,
    // -> number of live sessions
    caf::replies_to<count_atom>::with<std::int64_t>,
    // Asks every session to persist itself (and every waiting one to go); replies once all did.
    caf::replies_to<shutdown_atom>::with<bool>>;

// `presence` (optional) is told of every session that registers and of its end.
directory_actor spawn_directory(caf::actor_system& sys, storage_actor storage, cleaner_actor cleaner,
                                std::int64_t max_sessions, std::int64_t max_queue, presence_actor presence = {});

}  // namespace tether
