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

// Also handles: sweep_atom (forwarded to every session), shutdown_atom (asks every session to
// persist itself; replies once all did), count_atom (-> number of live sessions).
caf::actor spawn_directory(caf::actor_system& sys, storage_actor storage);

}  // namespace tether
