#pragma once
// The room registry: which rooms are live (room id -> room actor), their occupancy, and who
// watches the room list (watch_rooms). Joins go through it (it spawns a room on its first join and
// delegates the join to the room, whose answer goes straight to the session); everything else goes
// from a session to its room's actor directly. A room that empties asks it to be retired, so that
// no join can reach a room that is going away.
#include "actors/room.hpp"

namespace tether {

using occupancy_atom = caf::atom_constant<caf::atom("occupancy")>;
using watch_atom = caf::atom_constant<caf::atom("watch")>;
using unwatch_atom = caf::atom_constant<caf::atom("unwatch")>;
using list_atom = caf::atom_constant<caf::atom("list")>;

struct room_list_snapshot {
  std::vector<codec::room_summary> rooms;
  std::vector<room_actor> actors;  // same order: ask them for their members (admin)
};

using room_registry_actor = caf::typed_actor<
    // room_id, member -> the room's answer (delegated to the room)
    caf::replies_to<join_atom, std::string, room_member>::with<join_result>,
    // From a room: its occupancy (distinct users) changed.
    caf::reacts_to<occupancy_atom, std::string, std::int64_t>,
    // From a room that emptied: room_id, joins it has seen -> true: quit now (no join is on its
    // way to it); false: a join is, stay.
    caf::replies_to<vacate_atom, std::string, std::uint64_t>::with<bool>,
    // session_id, outbox, ref: room_list now (with ref), room_occupancy_update on every change.
    caf::reacts_to<watch_atom, std::string, std::shared_ptr<outbox>, boost::json::value>,
    caf::reacts_to<unwatch_atom, std::string>,
    // -> the non-empty rooms (admin, tests)
    caf::replies_to<list_atom>::with<room_list_snapshot>>;

room_registry_actor spawn_room_registry(caf::actor_system& sys, room_config config);

// Used by the registry only: a room reports to it.
room_actor spawn_room(caf::actor_system& sys, std::string room_id, room_config config, room_registry_actor registry);

}  // namespace tether

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::room_list_snapshot)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<tether::outbox>)
