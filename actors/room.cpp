#include "actors/room_registry.hpp"

#include "proto/clock.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <deque>
#include <map>
#include <unordered_map>

namespace tether {

namespace {

using drain_atom = caf::atom_constant<caf::atom("drain")>;

// The room's own interface: the public one plus the continuation of a sliced broadcast.
using room_impl_actor = room_actor::extend<caf::reacts_to<drain_atom>>;

struct member_entry {
  room_member m;
  std::string joined_at;  // ISO 8601, computed once
};

// Frames waiting to be written because a sliced broadcast is under way: everything after it waits
// too, so that every member sees the room's frames in the room's order.
struct pending_write {
  frame f;
  std::vector<std::shared_ptr<outbox>> to;
  std::size_t next = 0;
};

struct room_state {
  std::string room_id;
  room_config cfg;
  room_registry_actor registry;
  // By join order (participants are listed oldest first), and by session id.
  std::map<std::uint64_t, member_entry> members;
  std::unordered_map<std::string, std::uint64_t> by_session;
  std::unordered_map<std::string, int> sessions_of_user;  // occupancy = its size
  std::uint64_t next_seq = 0;
  std::uint64_t joins_seen = 0;
  bool vacating = false;
  std::deque<pending_write> backlog;
  static inline const char* name = "room";
};

using room_self = room_impl_actor::stateful_pointer<room_state>;

std::int64_t occupancy(const room_state& st) { return static_cast<std::int64_t>(st.sessions_of_user.size()); }

// ---- writing ----

void drain(room_self self) {
  auto& st = self->state;
  std::size_t budget = st.cfg.slice;
  while (!st.backlog.empty() && budget > 0) {
    auto& w = st.backlog.front();
    while (w.next < w.to.size() && budget > 0) {
      w.to[w.next++]->send(w.f);
      --budget;
    }
    if (w.next == w.to.size()) st.backlog.pop_front();
  }
  if (!st.backlog.empty()) self->send(self, drain_atom::value);
}

void write(room_self self, frame f, std::vector<std::shared_ptr<outbox>> to) {
  auto& st = self->state;
  if (st.backlog.empty() && to.size() <= st.cfg.slice) {
    for (auto& o : to) o->send(f);
    return;
  }
  bool idle = st.backlog.empty();
  st.backlog.push_back(pending_write{std::move(f), std::move(to), 0});
  if (idle) drain(self);
}

// Every member's outbox but `except`'s.
std::vector<std::shared_ptr<outbox>> outboxes(const room_state& st, const std::string& except = {}) {
  std::vector<std::shared_ptr<outbox>> out;
  out.reserve(st.members.size());
  for (auto& [seq, e] : st.members)
    if (e.m.session_id != except) out.push_back(e.m.out);
  return out;
}

void write_to(room_self self, const room_member& m, frame f) { write(self, std::move(f), {m.out}); }

codec::room_joined joined_message(const room_state& st, const boost::json::value& ref) {
  codec::room_joined r;
  r.room_id = st.room_id;
  r.participants.reserve(st.members.size());
  for (auto& [seq, e] : st.members)
    r.participants.push_back({e.m.user_id, e.m.session_id, e.m.display_name, e.joined_at});
  r.occupancy = occupancy(st);
  r.capacity = st.cfg.capacity;
  r.ref = ref;
  return r;
}

// ---- membership ----

void report_occupancy(room_self self) {
  self->send(self->state.registry, occupancy_atom::value, self->state.room_id, occupancy(self->state));
}

void maybe_vacate(room_self self) {
  auto& st = self->state;
  if (!st.members.empty() || st.vacating) return;
  st.vacating = true;
  self->request(st.registry, caf::infinite, vacate_atom::value, st.room_id, st.joins_seen)
      .then(
          [self](bool retire) {
            self->state.vacating = false;
            if (retire && self->state.members.empty()) self->quit();
          },
          [self](caf::error&) { self->quit(); });  // no registry: nobody can reach this room
}

// Removes one session. `reason` goes to the others in user_left when it was the user's last one.
void remove(room_self self, const std::string& session_id, const std::string& reason, bool answer,
            const boost::json::value& ref) {
  auto& st = self->state;
  auto it = st.by_session.find(session_id);
  if (it == st.by_session.end()) return;
  auto node = st.members.find(it->second);
  room_member m = std::move(node->second.m);
  st.members.erase(node);
  st.by_session.erase(it);
  self->demonitor(m.session.address());
  if (answer) write_to(self, m, codec::encode(codec::room_left{st.room_id, ref}));
  auto u = st.sessions_of_user.find(m.user_id);
  if (u != st.sessions_of_user.end() && --u->second == 0) {
    st.sessions_of_user.erase(u);
    write(self, codec::encode(codec::user_left{st.room_id, m.user_id, reason}), outboxes(st));
    report_occupancy(self);
  }
  maybe_vacate(self);
}

join_result on_join(room_self self, room_member& m) {
  auto& st = self->state;
  auto me = caf::actor_cast<room_actor>(self);
  ++st.joins_seen;
  if (st.by_session.count(m.session_id)) {
    if (!m.quiet) write_to(self, m, codec::encode(joined_message(st, m.ref)));
    return {join_outcome::already, me};
  }
  auto u = st.sessions_of_user.find(m.user_id);
  bool new_user = u == st.sessions_of_user.end();
  if (new_user && occupancy(st) >= st.cfg.capacity) {
    maybe_vacate(self);  // a room spawned for a join it refused
    return {join_outcome::full, me};
  }
  if (!new_user && st.cfg.policy == duplicate_policy::switch_place) {
    // The new tab takes the place: the old session leaves without anyone else hearing of it.
    std::vector<std::string> replaced;
    for (auto& [seq, e] : st.members)
      if (e.m.user_id == m.user_id) replaced.push_back(e.m.session_id);
    for (auto& sid : replaced) {
      auto node = st.members.find(st.by_session[sid]);
      self->send(node->second.m.session, switched_atom::value, st.room_id, m.session_id);
      self->demonitor(node->second.m.session.address());
      st.members.erase(node);
      st.by_session.erase(sid);
    }
    u->second = 0;
  }
  self->monitor(m.session);
  auto seq = st.next_seq++;
  st.by_session[m.session_id] = seq;
  ++st.sessions_of_user[m.user_id];
  auto ref = std::move(m.ref);
  auto joined_at = iso8601_from_ms(m.joined_at_ms);
  auto& e = st.members[seq] = member_entry{std::move(m), std::move(joined_at)};
  if (!e.m.quiet) {
    write_to(self, e.m, codec::encode(joined_message(st, ref)));
    if (new_user)
      write(self, codec::encode(codec::user_joined{st.room_id, e.m.user_id, e.m.display_name}),
            outboxes(st, e.m.session_id));
  }
  if (new_user) report_occupancy(self);
  return {join_outcome::joined, me};
}

room_impl_actor::behavior_type room_behavior(room_self self, std::string room_id, room_config cfg,
                                             room_registry_actor registry) {
  self->set_default_handler(caf::print_and_drop);
  auto& st = self->state;
  st.room_id = std::move(room_id);
  st.cfg = cfg;
  st.registry = std::move(registry);
  // A member's session actor that went away without leaving (it crashed): it is disconnected.
  self->set_down_handler([self](const caf::down_msg& msg) {
    std::vector<std::string> gone;
    for (auto& [seq, e] : self->state.members)
      if (e.m.session.address() == msg.source) gone.push_back(e.m.session_id);
    for (auto& sid : gone) remove(self, sid, "disconnected", false, nullptr);
  });
  return {
      [=](join_atom, room_member& m) { return on_join(self, m); },
      [=](leave_atom, const leave_request& r) { remove(self, r.session_id, r.reason, r.answer, r.ref); },
      [=](publish_atom, const std::string& session_id, boost::json::value& data) {
        auto& s = self->state;
        auto it = s.by_session.find(session_id);
        if (it == s.by_session.end()) return;  // not (or no longer) a member: the session checks first
        const auto& user = s.members[it->second].m.user_id;
        write(self, codec::encode(codec::room_message{s.room_id, user, std::move(data)}), outboxes(s));
      },
      [=](members_atom) {
        auto& s = self->state;
        auto joined = joined_message(s, nullptr);
        return room_snapshot{s.room_id, joined.occupancy, joined.capacity, std::move(joined.participants)};
      },
      [=](drain_atom) { drain(self); },
  };
}

}  // namespace

room_config rooms_config(const settings& s) {
  room_config c;
  c.capacity = s.rooms.max_participants;
  c.policy = s.rooms.duplicate_policy == "allow" ? duplicate_policy::allow : duplicate_policy::switch_place;
  c.max_restarts = s.rooms.max_restarts;
  c.restart_period_ms = s.rooms.restart_period_ms;
  return c;
}

room_actor spawn_room(caf::actor_system& sys, std::string room_id, room_config config, room_registry_actor registry) {
  return caf::actor_cast<room_actor>(sys.spawn(room_behavior, std::move(room_id), config, std::move(registry)));
}

}  // namespace tether
