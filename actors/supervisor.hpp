#pragma once
// The supervisor spawns and monitors the storage actor, the reader, the cleaner and the directory, runs
// crash recovery at start-up, drives the stale sweep, the unclaimed-upload sweep and the guest
// sweep, and the graceful shutdown. A core actor that dies is fatal: tetherd exits and, all state being in SQLite,
// the next start recovers it.
#include "actors/atoms.hpp"
#include "actors/session.hpp"

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <functional>
#include <memory>

namespace tether {

class database;
class blob_store;
class webhook_transport;

using deps_atom = caf::atom_constant<caf::atom("deps")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using unclaimed_tick_atom = caf::atom_constant<caf::atom("uncl_tick")>;
using guest_tick_atom = caf::atom_constant<caf::atom("guest_tick")>;

using supervisor_actor = caf::typed_actor<
    // -> what the network layer needs to spawn sessions
    caf::replies_to<deps_atom>::with<session_deps>,
    // Runs crash recovery, then calls on_ready and starts the sweeps.
    caf::replies_to<start_atom>::with<bool>,
    // The sweep timer (its own).
    caf::reacts_to<sweep_atom>,
    // The unclaimed-upload sweep timer (its own).
    caf::reacts_to<unclaimed_tick_atom>,
    // The guest sweep timer (its own).
    caf::reacts_to<guest_tick_atom>,
    // -> number of live sessions
    caf::replies_to<count_atom>::with<std::int64_t>,
    // Every session closed with 1001 and persisted for resume, storage committed.
    caf::replies_to<shutdown_atom>::with<bool>>;

struct supervisor_hooks {
  std::function<void()> on_ready;                  // recovery done: /readyz turns 200
  std::function<void(const std::string&)> on_fatal;  // a core actor died
  // Something gave up that a clean shutdown handles (rooms crashing beyond their intensity): the
  // sessions are persisted as on SIGTERM and the process exits non-zero.
  std::function<void(const std::string&)> on_give_up;
};

struct supervisor_options {
  std::shared_ptr<const settings> cfg;
  std::shared_ptr<database> db;         // the writer's connection, opened and migrated
  std::shared_ptr<database> reader_db;  // a second connection to the same file, database::read_only
  std::shared_ptr<blob_store> blobs;
  // Set (webhooks.url is): the webhook sender runs and drains the outbox through it. The writer's
  // database must have webhooks enabled (database::enable_webhooks) for events to be recorded.
  std::shared_ptr<webhook_transport> webhooks;
  supervisor_hooks hooks;
  bool detached_io = true;  // storage, reader and cleaner on their own threads (off in deterministic tests)
};

supervisor_actor spawn_supervisor(caf::actor_system& sys, supervisor_options options);

}  // namespace tether

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::session_deps)
