#pragma once
// The cleaner drains the durable deletion queue into the blob store: it asks the reader for due
// jobs (committed queueing only: a deletion whose queueing could still roll back is never
// unlinked), removes the blobs, reports results to the storage actor (which applies retries with
// backoff), and sleeps until the next job is due. Idempotent: a blob already gone counts as done.
#include "actors/atoms.hpp"
#include "actors/reader.hpp"
#include "actors/storage.hpp"

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <memory>

namespace tether {

class blob_store;

using cleaner_actor = caf::typed_actor<
    // Deletions were queued: look at the queue now.
    // (Its timer for the next due job is not a message: see actors/timer.hpp.)
    caf::reacts_to<wake_atom>>;

cleaner_actor spawn_cleaner(caf::actor_system& sys, storage_actor storage, reader_actor reader,
                            std::shared_ptr<blob_store> blobs, bool detached = true);

}  // namespace tether
