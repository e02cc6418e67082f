#pragma once
// The cleaner drains the durable deletion queue into the blob store: it asks the storage actor
// for due jobs, removes the blobs, reports results (the storage actor applies retries with
// backoff), and sleeps until the next job is due. Idempotent: a blob already gone counts as done.
#include "actors/atoms.hpp"
#include "actors/storage.hpp"

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <memory>

namespace tether {

class blob_store;

// The cleaner's own timer (the next due job); only the cleaner sends it.
using cleaner_timer_atom = caf::atom_constant<caf::atom("cl_timer")>;

using cleaner_actor = caf::typed_actor<
    // Deletions were queued: look at the queue now.
    caf::reacts_to<wake_atom>,
    caf::reacts_to<cleaner_timer_atom>>;

cleaner_actor spawn_cleaner(caf::actor_system& sys, storage_actor storage, std::shared_ptr<blob_store> blobs,
                         bool detached = true);

}  // namespace tether
