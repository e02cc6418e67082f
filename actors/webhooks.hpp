#pragma once
// The webhook sender (PROTOCOL.md §9): drains the durable outbox into the receiver. It asks the
// reader for due events (committed rows only: an event whose cause could still roll back is never
// sent), signs each body (HMAC-SHA256 with webhooks.secret), POSTs them through a
// webhook_transport (at most webhooks.max_in_flight at once), reports the outcomes to the storage
// actor (2xx: the row is deleted; anything else: retried with backoff and jitter, or marked failed
// past webhooks.max_attempts), and sleeps until the next event is due. Holds nothing durable:
// stopped at any point (SIGTERM, kill -9), the rows stay and are sent after the restart.
#include "actors/atoms.hpp"
#include "actors/reader.hpp"
#include "actors/storage.hpp"

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace tether {

class webhook_transport;

using posted_atom = caf::atom_constant<caf::atom("posted")>;

using webhook_sender_actor = caf::typed_actor<
    // Events were committed (from the storage actor) or recovery is done: look at the outbox now.
    caf::reacts_to<wake_atom>,
    // Its own: the outcome of one POST (round, outbox seq, error; empty = delivered).
    caf::reacts_to<posted_atom, std::uint64_t, std::int64_t, std::string>>;

struct webhook_sender_config {
  std::string secret;
  std::int64_t max_in_flight = 8;
};

webhook_sender_actor spawn_webhook_sender(caf::actor_system& sys, storage_actor storage, reader_actor reader,
                                          std::shared_ptr<webhook_transport> transport, webhook_sender_config cfg);

}  // namespace tether
