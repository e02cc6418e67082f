#pragma once
// The supervisor spawns and monitors the storage actor, the cleaner and the directory, runs
// crash recovery at start-up, drives the stale sweep, and the graceful shutdown. A core actor
// that dies is fatal: tetherd exits and, all state being in SQLite, the next start recovers it.
#include "actors/atoms.hpp"
#include "actors/session.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <functional>
#include <memory>

namespace tether {

class database;
class blob_store;

// -> session_deps (what the network layer needs to spawn sessions)
using deps_atom = caf::atom_constant<caf::atom("deps")>;
// Runs recovery, then calls on_ready. -> bool
using start_atom = caf::atom_constant<caf::atom("start")>;

struct supervisor_hooks {
  std::function<void()> on_ready;                  // recovery done: /readyz turns 200
  std::function<void(const std::string&)> on_fatal;  // a core actor died
};

struct supervisor_options {
  std::shared_ptr<const settings> cfg;
  std::shared_ptr<database> db;
  std::shared_ptr<blob_store> blobs;
  supervisor_hooks hooks;
  bool detached_io = true;  // storage and cleaner on their own threads (off in deterministic tests)
};

// Also handles shutdown_atom (-> bool once every session is persisted and storage committed).
caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_options options);

}  // namespace tether

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::session_deps)
