#pragma once
// The directory: which sessions are live, for whom, and under which resume token. Sessions
// register themselves; the directory monitors them so that a crashed session is still ended
// (its files cleaned) rather than forgotten.
#include "actors/atoms.hpp"
#include "actors/storage.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace tether {

// session_id, user_id, resume_token, session actor: adds or updates an entry (a new token
// replaces the old one, which stops working).
using register_atom = caf::atom_constant<caf::atom("register")>;
// session_id: the session has ended.
using unregister_atom = caf::atom_constant<caf::atom("unregist")>;
// resume_token, user_id -> the session actor holding that token for that user, or an invalid
// actor. A token is handed out once.
using lookup_atom = caf::atom_constant<caf::atom("lookup")>;

// A new session asks for a place (server.max_sessions). -> bool: true once it has one (at once,
// or after waiting in the queue, meanwhile told its 1-based position with queued_atom), false
// when the queue is full too (server.max_queue). Sessions in their resume window hold a place.
using admit_atom = caf::atom_constant<caf::atom("admit")>;
// To a waiting session: (queued_atom, std::int64_t position).
using queued_atom = caf::atom_constant<caf::atom("queued")>;

// Also handles: sweep_atom (forwarded to every session), shutdown_atom (asks every session to
// persist itself; replies once all did), count_atom (-> number of live sessions).
caf::actor spawn_directory(caf::actor_system& sys, storage_actor storage, caf::actor cleaner,
                           std::int64_t max_sessions, std::int64_t max_queue);

}  // namespace tether
