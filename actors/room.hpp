#pragma once
// A room (PROTOCOL.md §6): one actor per live room, spawned by the room registry on the first join
// and gone when the last member leaves. It holds the members (by session), applies the duplicate
// policy and the capacity, and broadcasts: each event is encoded once into one shared frame and
// written straight into each member's outbox (no actor hop per delivered frame). It monitors its
// members' session actors, so a session that dies without leaving is still removed.
#include "actors/atoms.hpp"
#include "actors/outbox.hpp"
#include "actors/session_actor.hpp"
#include "config/settings.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace tether {

using join_atom = caf::atom_constant<caf::atom("join")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using publish_atom = caf::atom_constant<caf::atom("publish")>;
using members_atom = caf::atom_constant<caf::atom("members")>;

// A session joining a room.
struct room_member {
  std::string session_id, user_id, display_name;
  std::int64_t joined_at_ms = 0;
  session_actor session;         // monitored; told `switched` when another tab takes its place
  std::shared_ptr<outbox> out;   // where the room's frames go
  boost::json::value ref;        // echoed on room_joined
  bool quiet = false;            // a silent re-join (the room was restarted): no frames at all
};

enum class join_outcome {
  joined,   // room_joined sent to the member (and user_joined to the others if it is a new user)
  already,  // the session was a member already: room_joined sent again, nobody else told
  full,     // rooms.max_participants distinct users already: nothing sent
};

// A leave: `reason` is what the others see in user_left; `answer` sends room_left (with `ref`) to
// the leaver (leave_room), not when its session ended.
struct leave_request {
  std::string session_id;
  std::string reason;
  bool answer = false;
  boost::json::value ref;
};

struct room_snapshot {
  std::string room_id;
  std::int64_t occupancy = 0, capacity = 0;
  std::vector<codec::participant> participants;
};

struct join_result;

using room_actor = caf::typed_actor<
    caf::replies_to<join_atom, room_member>::with<join_result>,
    caf::reacts_to<leave_atom, leave_request>,
    // session_id, data: room_message to every member, the sender included (members only)
    caf::reacts_to<publish_atom, std::string, boost::json::value>,
    caf::replies_to<members_atom>::with<room_snapshot>>;

struct join_result {
  join_outcome outcome = join_outcome::full;
  room_actor room;
};

enum class duplicate_policy { switch_place, allow };

struct room_config {
  std::int64_t capacity = 50;
  duplicate_policy policy = duplicate_policy::switch_place;
  // Broadcasts to more members than this are written in slices of this size, each slice a message
  // to the room itself, so one huge room never holds a scheduler thread for long.
  std::size_t slice = 1024;
  // Supervision intensity: more room crashes than this within the period and the registry gives up
  // (the supervisor then shuts the server down cleanly).
  std::int64_t max_restarts = 20;
  std::int64_t restart_period_ms = 60000;
};
room_config rooms_config(const settings& s);


}  // namespace tether

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::room_member)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::leave_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::room_snapshot)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::join_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(boost::json::value)
