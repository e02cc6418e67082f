#include "actors/directory.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <unordered_map>

namespace tether {

namespace {

struct entry {
  std::string user_id;
  std::string resume_token;
  caf::actor session;
};

struct directory_state {
  storage_actor storage;
  std::unordered_map<std::string, entry> sessions;          // by session_id
  std::unordered_map<std::string, std::string> by_token;    // resume_token -> session_id
  std::unordered_map<caf::actor_addr, std::string> by_actor;
  bool shutting_down = false;
  static inline const char* name = "directory";
};

using directory_self = caf::stateful_actor<directory_state>*;

void forget(directory_state& st, const std::string& session_id) {
  auto it = st.sessions.find(session_id);
  if (it == st.sessions.end()) return;
  st.by_token.erase(it->second.resume_token);
  st.by_actor.erase(it->second.session.address());
  st.sessions.erase(it);
}

caf::behavior directory_behavior(directory_self self, storage_actor storage) {
  self->set_default_handler(caf::print_and_drop);
  self->state.storage = std::move(storage);
  // A session actor that died without unregistering crashed: end its session so its files are
  // still cleaned, exactly once (the database ignores a second end).
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    auto it = st.by_actor.find(msg.source);
    if (it == st.by_actor.end()) return;
    auto session_id = it->second;
    forget(st, session_id);
    // A normal exit without unregistering is a handover or a shutdown: the session lives on in
    // SQLite. Only a crash (an error as exit reason) is ended here.
    if (!msg.reason || st.shutting_down) return;
    spdlog::error("session {} actor died ({}); ending it", session_id, to_string(msg.reason));
    self->request(st.storage, caf::infinite, end_atom::value, session_id, std::string("closed"))
        .then([](std::int64_t) {}, [session_id](caf::error& e) {
          spdlog::error("ending crashed session {} failed: {}", session_id, to_string(e));
        });
  });
  return {
      [=](register_atom, const std::string& sid, const std::string& uid, const std::string& token,
          const caf::actor& session) {
        auto& st = self->state;
        auto it = st.sessions.find(sid);
        if (it != st.sessions.end()) {
          st.by_token.erase(it->second.resume_token);
          if (it->second.session != session) st.by_actor.erase(it->second.session.address());
        }
        if (it == st.sessions.end() || it->second.session != session) self->monitor(session);
        st.sessions[sid] = entry{uid, token, session};
        st.by_token[token] = sid;
        st.by_actor[session.address()] = sid;
      },
      [=](unregister_atom, const std::string& sid) {
        auto& st = self->state;
        auto it = st.sessions.find(sid);
        if (it == st.sessions.end()) return;
        if (it->second.session.address() == self->current_sender()) {
          self->demonitor(it->second.session);
          forget(st, sid);
        }
      },
      [=](lookup_atom, const std::string& token, const std::string& uid) -> caf::actor {
        auto& st = self->state;
        auto t = st.by_token.find(token);
        if (t == st.by_token.end()) return {};
        auto& e = st.sessions[t->second];
        if (e.user_id != uid) return {};  // someone else's token: treated as unknown
        st.by_token.erase(t);
        e.resume_token.clear();
        return e.session;
      },
      [=](sweep_atom a) {
        for (auto& kv : self->state.sessions) self->send(kv.second.session, a);
      },
      [=](count_atom) -> std::int64_t { return static_cast<std::int64_t>(self->state.sessions.size()); },
      [=](shutdown_atom a) -> caf::result<bool> {
        auto& st = self->state;
        st.shutting_down = true;
        auto rp = self->make_response_promise<bool>();
        if (st.sessions.empty()) {
          rp.deliver(true);
          return rp;
        }
        auto pending = std::make_shared<std::size_t>(st.sessions.size());
        for (auto& kv : st.sessions) {
          self->request(kv.second.session, std::chrono::seconds(10), a)
              .then([=](bool) mutable {
                if (--*pending == 0) rp.deliver(true);
              },
                    [=](caf::error&) mutable {
                      if (--*pending == 0) rp.deliver(true);
                    });
        }
        return rp;
      },
  };
}

}  // namespace

caf::actor spawn_directory(caf::actor_system& sys, storage_actor storage) {
  return sys.spawn(directory_behavior, std::move(storage));
}

}  // namespace tether
