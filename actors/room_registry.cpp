#include "actors/room_registry.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <deque>
#include <map>
#include <unordered_map>

namespace tether {

namespace {

struct room_entry {
  room_actor room;
  std::int64_t occupancy = 0;
  std::uint64_t joins_sent = 0;  // joins delegated to it: compared with what it has seen on vacate
};

struct registry_state {
  room_config cfg;
  std::map<std::string, room_entry> rooms;  // ordered: room_list comes sorted by room id
  std::unordered_map<caf::actor_addr, std::string> by_actor;
  std::unordered_map<std::string, std::shared_ptr<outbox>> watchers;  // by session id
  std::deque<caf::actor_clock::time_point> crashes;                   // within restart_period_ms
  static inline const char* name = "room_registry";
};

using registry_self = room_registry_actor::stateful_pointer<registry_state>;

void tell_watchers(registry_self self, const std::string& room_id, std::int64_t occupancy) {
  auto& st = self->state;
  if (st.watchers.empty()) return;
  // Droppable: the next update supersedes it; a slow watcher loses updates, not its connection.
  auto f = codec::encode(codec::room_occupancy_update{room_id, occupancy});
  for (auto& [sid, out] : st.watchers) out->send(f, delivery::droppable);
}

// The non-empty rooms, sorted by id (what room_list and the admin view show).
room_list_snapshot occupied(const registry_state& st) {
  room_list_snapshot snap;
  for (auto& [id, e] : st.rooms)
    if (e.occupancy > 0) {
      snap.rooms.push_back({id, e.occupancy, st.cfg.capacity});
      snap.actors.push_back(e.room);
    }
  return snap;
}

void forget(registry_self self, const std::string& room_id) {
  auto& st = self->state;
  auto it = st.rooms.find(room_id);
  if (it == st.rooms.end()) return;
  st.by_actor.erase(it->second.room.address());
  bool was_occupied = it->second.occupancy > 0;
  st.rooms.erase(it);
  if (was_occupied) tell_watchers(self, room_id, 0);
}

room_registry_actor::behavior_type registry_behavior(registry_self self, room_config cfg) {
  self->set_default_handler(caf::print_and_drop);
  self->state.cfg = cfg;
  // A room that died: its members' sessions see it too (they monitor their rooms) and join again,
  // which spawns a fresh room; here it is only forgotten.
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto it = self->state.by_actor.find(msg.source);
    if (it == self->state.by_actor.end()) return;
    auto room_id = it->second;
    forget(self, room_id);
    if (!msg.reason) return;
    spdlog::error("room {} died: {}; its members join it again", room_id, to_string(msg.reason));
    // Supervision intensity: a room that keeps crashing would be restarted forever by its members.
    auto& st = self->state;
    auto now = self->clock().now();
    st.crashes.push_back(now);
    while (!st.crashes.empty() && now - st.crashes.front() > std::chrono::milliseconds(st.cfg.restart_period_ms))
      st.crashes.pop_front();
    if (static_cast<std::int64_t>(st.crashes.size()) > st.cfg.max_restarts)
      self->quit(caf::make_error(caf::sec::runtime_error,
                                 std::to_string(st.crashes.size()) + " room crashes within rooms.restart_period_ms"));
  });
  return {
      [=](join_atom, const std::string& room_id, room_member& m) -> caf::delegated<join_result> {
        auto& st = self->state;
        auto it = st.rooms.find(room_id);
        if (it == st.rooms.end()) {
          auto room = spawn_room(self->system(), room_id, st.cfg, caf::actor_cast<room_registry_actor>(self));
          self->monitor(room);
          st.by_actor[room.address()] = room_id;
          it = st.rooms.emplace(room_id, room_entry{room, 0, 0}).first;
        }
        ++it->second.joins_sent;
        return self->delegate(it->second.room, join_atom::value, std::move(m));
      },
      [=](occupancy_atom, const std::string& room_id, std::int64_t occupancy) {
        auto it = self->state.rooms.find(room_id);
        if (it == self->state.rooms.end() || it->second.occupancy == occupancy) return;
        it->second.occupancy = occupancy;
        tell_watchers(self, room_id, occupancy);
      },
      [=](vacate_atom, const std::string& room_id, std::uint64_t joins_seen) -> bool {
        auto& st = self->state;
        auto it = st.rooms.find(room_id);
        if (it == st.rooms.end() || it->second.room.address() != self->current_sender()) return true;
        if (it->second.joins_sent != joins_seen) return false;  // a join is on its way to it
        self->demonitor(it->second.room.address());
        forget(self, room_id);
        return true;
      },
      [=](watch_atom, const std::string& session_id, std::shared_ptr<outbox>& out, boost::json::value& ref) {
        auto& st = self->state;
        codec::room_list list;
        list.rooms = occupied(st).rooms;
        list.ref = std::move(ref);
        // From here, in this actor's order: the list first, then every update after it.
        out->send(codec::encode(list));
        st.watchers[session_id] = std::move(out);
      },
      [=](unwatch_atom, const std::string& session_id) { self->state.watchers.erase(session_id); },
      [=](list_atom) { return occupied(self->state); },
  };
}

}  // namespace

room_registry_actor spawn_room_registry(caf::actor_system& sys, room_config config) {
  return sys.spawn(registry_behavior, config);
}

}  // namespace tether
