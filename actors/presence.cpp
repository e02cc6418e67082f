#include "actors/presence.hpp"

#include "actors/live_counts.hpp"
#include "proto/channel_messages.hpp"

#include <caf/all.hpp>

#include <map>
#include <unordered_map>
#include <unordered_set>

namespace tether {

namespace {

struct online_user {
  std::string full_name;
  std::unordered_set<std::string> sessions;
};

struct watcher {
  session_actor session;
  std::shared_ptr<outbox> out;
};

struct presence_state {
  std::map<std::string, online_user> users;                       // sorted: `presence` lists by id
  std::unordered_map<std::string, std::string> user_of_session;   // session id -> user id
  std::unordered_map<std::string, watcher> watchers;              // by session id
  static inline const char* name = "presence";
};

using presence_self = presence_actor::stateful_pointer<presence_state>;

void tell_watchers(presence_self self, const frame& f) {
  for (auto& [sid, w] : self->state.watchers) w.out->send(f);
}

void session_online(presence_self self, const std::string& sid, const std::string& user, const std::string& name) {
  auto& st = self->state;
  auto known = st.user_of_session.find(sid);
  if (known != st.user_of_session.end()) return;  // registered again (a resume's new token)
  st.user_of_session[sid] = user;
  auto [it, first] = st.users.try_emplace(user);
  it->second.sessions.insert(sid);
  if (!first) return;
  live().online_users = static_cast<std::int64_t>(st.users.size());
  it->second.full_name = name.empty() ? user : name;
  tell_watchers(self, codec::encode(codec::user_online{user, it->second.full_name}));
}

void session_offline(presence_self self, const std::string& sid) {
  auto& st = self->state;
  auto known = st.user_of_session.find(sid);
  if (known == st.user_of_session.end()) return;
  auto user = known->second;
  st.user_of_session.erase(known);
  auto it = st.users.find(user);
  if (it == st.users.end()) return;
  it->second.sessions.erase(sid);
  if (!it->second.sessions.empty()) return;
  st.users.erase(it);
  live().online_users = static_cast<std::int64_t>(st.users.size());
  tell_watchers(self, codec::encode(codec::user_offline{user}));
}

presence_actor::behavior_type presence_behavior(presence_self self) {
  self->set_default_handler(caf::print_and_drop);
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& w = self->state.watchers;
    for (auto it = w.begin(); it != w.end();) it = it->second.session.address() == msg.source ? w.erase(it) : std::next(it);
  });
  return {
      [=](online_atom, const std::string& sid, const std::string& user, const std::string& name) {
        session_online(self, sid, user, name);
      },
      [=](offline_atom, const std::string& sid) { session_offline(self, sid); },
      [=](subscribe_atom, channel_subscriber& m) {
        auto& st = self->state;
        auto [it, fresh] = st.watchers.try_emplace(m.session_id);
        if (fresh) self->monitor(m.session);
        it->second = watcher{m.session, m.out};
        if (!m.quiet) m.out->send(codec::encode(codec::subscribed{"online", m.ref}));
        codec::presence p;
        p.users.reserve(st.users.size());
        for (auto& [user, u] : st.users) p.users.push_back({user, u.full_name});
        p.ref = std::move(m.ref);
        m.out->send(codec::encode(p));
        return true;
      },
      [=](unsubscribe_atom, const unsubscribe_request& r) {
        auto& w = self->state.watchers;
        auto it = w.find(r.session_id);
        if (it != w.end()) {
          self->demonitor(it->second.session.address());
          w.erase(it);
        }
        if (r.answer && r.out) r.out->send(codec::encode(codec::unsubscribed{"online", r.ref}));
      },
      [=](count_atom) { return static_cast<std::int64_t>(self->state.users.size()); },
  };
}

}  // namespace

presence_actor spawn_presence(caf::actor_system& sys) { return sys.spawn(presence_behavior); }

}  // namespace tether
