// The rooms part of a session (PROTOCOL.md §6): which rooms it is in, and the room list it may
// watch. The room actors hold the membership and do the broadcasting; a session holds a handle to
// each of its rooms, tells them when it ends (with the reason the others see), and monitors them so
// that a room that died is joined again, silently, from what the session knows.
#include "actors/session_state.hpp"

#include "actors/room_registry.hpp"
#include "proto/clock.hpp"
#include "proto/reasons.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace tether {

namespace {

using codec::err;

room_member member_of(session_self self, const std::string& display_name, boost::json::value ref, bool quiet) {
  auto& st = self->state;
  room_member m;
  m.session_id = st.session_id;
  m.user_id = st.user_id;
  m.display_name = display_name;
  m.joined_at_ms = unix_ms();
  m.session = caf::actor_cast<session_actor>(self);
  m.out = st.out;
  m.ref = std::move(ref);
  m.quiet = quiet;
  return m;
}

// §11: display_name defaults to the token's name, else (guests: their name is in the token too)
// the user id.
std::string default_name(const session_state& st) { return st.user_name.empty() ? st.user_id : st.user_name; }

// A place given up without anyone waiting on it (room_full, switched): a failure only leaves a
// place that the session's end (or a restart's window) removes.
void unplace(session_self self, const std::string& room_id) {
  self->request(self->state.deps.storage, caf::infinite, unplace_atom::value, self->state.session_id, room_id)
      .then([](bool) {}, [](caf::error&) {});
}

// Webhooks: the room took the session, so its user is a member for the back end (member_added
// unless it is one already: another tab, a re-join after a room crash or a restart). Sent after the
// room's answer, not with the place, so a join the room refuses (room_full) is never announced; it
// reaches storage before anything this session sends later (its leave, its end).
void announce(session_self self, const std::string& room_id) {
  auto& st = self->state;
  if (cfg(self).webhooks.url.empty()) return;
  self->request(st.deps.storage, caf::infinite, announce_atom::value, st.session_id, room_id)
      .then([](bool) {}, [](caf::error&) {});
}

// The join of `room_id` is answered (or failed): what waited for it is handled now, in order.
void join_settled(session_self self, const std::string& room_id) {
  auto& joining = self->state.rooms.joining;
  auto it = joining.find(room_id);
  if (it == joining.end()) return;
  auto waiting = std::move(it->second);
  joining.erase(it);
  for (auto& m : waiting)
    if (!ended(self)) on_open_message(self, m);
}

// True when `m` must wait for a join of its room that is on its way (it is kept).
template <class Message>
bool wait_for_join(session_self self, const Message& m) {
  auto& joining = self->state.rooms.joining;
  auto it = joining.find(m.room_id);
  if (it == joining.end()) return false;
  if (it->second.size() >= max_held_messages)
    send_error(self, err::rate_limited, "too many messages for a room being joined", m.ref);
  else
    it->second.emplace_back(m);
  return true;
}

// The room's part: the registry delegates the join to the room, which answers the session.
void join_room_actor(session_self self, const std::string& room_id, const std::string& display_name,
                     boost::json::value ref, bool quiet, bool placed) {
  auto& st = self->state;
  self->request(st.deps.rooms, caf::infinite, join_atom::value, room_id, member_of(self, display_name, ref, quiet))
      .then(
          [self, room_id, display_name, ref, placed](join_result& r) {
            auto& s = self->state;
            if (r.outcome == join_outcome::full) {
              if (placed) unplace(self, room_id);
              send_error(self, err::room_full, "room " + room_id + " is full", ref);
              join_settled(self, room_id);
              return;
            }
            if (ended(self) || s.leaving) {
              // Ended (or left everything) while the join was on its way: give the place back.
              self->send(r.room, leave_atom::value,
                         leave_request{s.session_id, user_left_reason(s.end_reason), false, nullptr});
              join_settled(self, room_id);
              return;
            }
            auto& entry = s.rooms.joined[room_id];
            if (entry.room != r.room) {
              if (entry.room) self->demonitor(entry.room.address());
              self->monitor(r.room);
            }
            entry.room = r.room;
            // A second join_room of a room it is in changes nothing there (the room keeps the name
            // it has), so neither does it here: a re-join after a room crash keeps that name.
            if (r.outcome == join_outcome::joined) entry.display_name = display_name;
            announce(self, room_id);
            join_settled(self, room_id);
          },
          [self, room_id, ref](caf::error& e) {
            spdlog::error("session {}: joining {} failed: {}", self->state.session_id, room_id, to_string(e));
            send_error(self, err::internal, "could not join the room; try again", ref);
            join_settled(self, room_id);
          });
}

// join_room: the place is recorded first, so that room_joined never names a place a crash could
// lose (the durability rule); a refused join takes it back.
void join(session_self self, const std::string& room_id, const std::string& display_name, boost::json::value ref) {
  auto& st = self->state;
  st.rooms.joining[room_id];  // what comes for this room now waits for the answer
  self->request(st.deps.storage, caf::infinite, place_atom::value, st.session_id, room_id, display_name)
      .then(
          [self, room_id, display_name, ref](bool) {
            if (ended(self)) return;  // its end deleted every place
            join_room_actor(self, room_id, display_name, ref, false, true);
          },
          [self, room_id, ref](caf::error& e) {
            spdlog::error("session {}: recording its place in {} failed: {}", self->state.session_id, room_id,
                          to_string(e));
            send_error(self, err::internal, "could not join the room; try again", ref);
            join_settled(self, room_id);
          });
}

}  // namespace

void on_message(session_self self, const codec::join_room_msg& m) {
  if (wait_for_join(self, m)) return;
  auto& st = self->state;
  if (!st.rooms.joined.count(m.room_id) && st.rooms.joined.size() >= max_rooms_per_session) {
    send_error(self, err::capacity, "a session may be in at most 256 rooms", m.ref);
    return;
  }
  join(self, m.room_id, m.display_name.value_or(default_name(st)), m.ref);
}

void on_message(session_self self, const codec::leave_room_msg& m) {
  if (wait_for_join(self, m)) return;
  auto& st = self->state;
  auto it = st.rooms.joined.find(m.room_id);
  if (it == st.rooms.joined.end()) {
    send_error(self, err::not_found, "not in room " + m.room_id, m.ref);
    return;
  }
  // room_left (sent by the room, in its order) only once the place is gone for good.
  auto room = it->second.room;
  if (room) self->demonitor(room.address());
  st.rooms.joined.erase(it);
  auto leave = [self, room, ref = m.ref] {
    if (room) self->send(room, leave_atom::value, leave_request{self->state.session_id, "left", true, ref});
  };
  // If the removal was not recorded, the room is still left (the client asked); a restart may
  // bring the place back.
  self->request(st.deps.storage, caf::infinite, unplace_atom::value, st.session_id, m.room_id)
      .then([leave](bool) { leave(); }, [leave](caf::error&) { leave(); });
}

void on_message(session_self self, const codec::publish_msg& m) {
  if (wait_for_join(self, m)) return;
  auto& st = self->state;
  auto it = st.rooms.joined.find(m.room_id);
  if (it == st.rooms.joined.end()) {
    send_error(self, err::forbidden, "not a member of room " + m.room_id, m.ref);
    return;
  }
  self->send(it->second.room, publish_atom::value, st.session_id, m.data);
}

void on_message(session_self self, const codec::watch_rooms_msg& m) {
  auto& st = self->state;
  st.rooms.watching = true;
  self->send(st.deps.rooms, watch_atom::value, st.session_id, st.out, m.ref);
}

void on_message(session_self self, const codec::unwatch_rooms_msg& m) {
  auto& st = self->state;
  if (st.rooms.watching) self->send(st.deps.rooms, unwatch_atom::value, st.session_id);
  st.rooms.watching = false;
  reply(self, codec::ack_unwatch_rooms{m.ref});
}

void on_switched(session_self self, const std::string& room_id, const std::string& by_session) {
  auto& st = self->state;
  auto it = st.rooms.joined.find(room_id);
  if (it == st.rooms.joined.end()) return;
  self->demonitor(it->second.room.address());
  st.rooms.joined.erase(it);
  unplace(self, room_id);
  reply(self, codec::session_switched{room_id, by_session});
}

bool on_room_down(session_self self, const caf::down_msg& msg) {
  auto& st = self->state;
  for (auto& [room_id, entry] : st.rooms.joined) {
    if (entry.room.address() != msg.source) continue;
    entry.room = nullptr;
    if (!ended(self)) {
      spdlog::warn("session {}: room {} went away ({}); joining it again", st.session_id, room_id, to_string(msg.reason));
      join_room_actor(self, room_id, entry.display_name, nullptr, true, false);
    }
    return true;
  }
  return false;
}

void rejoin_places(session_self self, const std::vector<room_place>& places) {
  // A session restored after a restart takes its places again (they are recorded already); the
  // rooms are new, so the others present see it join.
  for (const auto& p : places) join_room_actor(self, p.room_id, p.display_name, nullptr, false, false);
}

void refresh_rooms(session_self self) {
  // What happened in its rooms while the session had no connection was not delivered: each room
  // sends it room_joined again (current participants), seen by nobody else.
  auto& st = self->state;
  for (auto& [room_id, entry] : st.rooms.joined)
    if (entry.room) self->request(entry.room, caf::infinite, join_atom::value, member_of(self, entry.display_name, nullptr, false))
                        .then([](join_result&) {}, [](caf::error&) {});
}

void leave_all_rooms(session_self self, const std::string& end_reason) {
  auto& st = self->state;
  st.end_reason = end_reason;
  auto reason = user_left_reason(end_reason);
  for (auto& [room_id, entry] : st.rooms.joined)
    if (entry.room) self->send(entry.room, leave_atom::value, leave_request{st.session_id, reason, false, nullptr});
  st.rooms.joined.clear();
  if (st.rooms.watching) self->send(st.deps.rooms, unwatch_atom::value, st.session_id);
  st.rooms.watching = false;
}

}  // namespace tether
