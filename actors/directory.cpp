#include "actors/directory.hpp"

#include "actors/live_counts.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <deque>
#include <unordered_map>
#include <unordered_set>

namespace tether {

namespace {

// How long shutdown waits for one session to persist itself: one storage commit, normally
// milliseconds. Fixed rather than an option: past it the session is left to crash recovery, which
// loses nothing (it is in SQLite as open), and serve's own watchdog bounds the whole shutdown.
constexpr auto persist_timeout = std::chrono::seconds(10);

struct entry {
  std::string user_id;
  std::string resume_token;
  session_actor session;
};

struct directory_state {
  storage_actor storage;
  presence_actor presence;
  cleaner_actor cleaner;
  std::unordered_map<std::string, entry> sessions;          // by session_id
  std::unordered_map<std::string, std::string> by_token;    // resume_token -> session_id
  std::unordered_map<caf::actor_addr, std::string> by_actor;
  bool shutting_down = false;
  std::int64_t max_sessions = 0;
  std::int64_t max_queue = 0;
  std::unordered_set<caf::actor_addr> reserved;  // admitted, not registered yet
  struct waiting {
    session_actor session;
    caf::typed_response_promise<bool> admitted;
  };
  std::deque<waiting> queue;

  std::int64_t places_taken() const { return static_cast<std::int64_t>(sessions.size() + reserved.size()); }
  static inline const char* name = "directory";
};

using directory_self = directory_actor::stateful_pointer<directory_state>;

// The directory's sizes as gauges (live counts): after every change, so they read zero when idle.
void publish_counts(const directory_state& st) {
  auto& c = live();
  c.directory_sessions = static_cast<std::int64_t>(st.sessions.size());
  c.resume_tokens = static_cast<std::int64_t>(st.by_token.size());
  c.admission_places = static_cast<std::int64_t>(st.reserved.size());
  c.admission_queue = static_cast<std::int64_t>(st.queue.size());
}

void forget(directory_self self, const std::string& session_id) {
  auto& st = self->state;
  auto it = st.sessions.find(session_id);
  if (it == st.sessions.end()) return;
  if (st.presence) self->send(st.presence, offline_atom::value, session_id);
  st.by_token.erase(it->second.resume_token);
  st.by_actor.erase(it->second.session.address());
  st.sessions.erase(it);
}

void tell_positions(directory_self self) {
  std::int64_t position = 0;
  for (auto& w : self->state.queue) self->send(w.session, queued_atom::value, ++position);
}

// A place may have freed: admit from the head of the queue. Whoever is still waiting hears its
// new position when the queue moved (`moved`: it changed before this call).
void admit_waiting(directory_self self, bool moved = false) {
  auto& st = self->state;
  if (st.shutting_down) return;
  while (!st.queue.empty() && st.places_taken() < st.max_sessions) {
    auto w = std::move(st.queue.front());
    st.queue.pop_front();
    st.reserved.insert(w.session.address());
    w.admitted.deliver(true);
    moved = true;
  }
  if (moved) tell_positions(self);
}

// A session that is gone no longer holds a reservation or a place in the queue.
void release(directory_self self, const caf::actor_addr& who) {
  auto& st = self->state;
  bool changed = st.reserved.erase(who) > 0;
  auto it = std::find_if(st.queue.begin(), st.queue.end(), [&](auto& w) { return w.session.address() == who; });
  bool left_queue = it != st.queue.end();
  if (left_queue) st.queue.erase(it);
  if (changed || left_queue) admit_waiting(self, left_queue);
}

directory_actor::behavior_type directory_behavior(directory_self self, storage_actor storage, cleaner_actor cleaner,
                                 std::int64_t max_sessions, std::int64_t max_queue, presence_actor presence) {
  self->state.cleaner = std::move(cleaner);
  self->state.presence = std::move(presence);
  self->state.max_sessions = max_sessions;
  self->state.max_queue = max_queue;
  self->set_default_handler(caf::print_and_drop);
  self->state.storage = std::move(storage);
  // A session actor that died without unregistering crashed: end its session so its files are
  // still cleaned, exactly once (the database ignores a second end).
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    release(self, msg.source);
    auto it = st.by_actor.find(msg.source);
    if (it == st.by_actor.end()) return publish_counts(st);
    auto session_id = it->second;
    forget(self, session_id);
    admit_waiting(self);
    publish_counts(st);
    // A normal exit without unregistering is a shutdown: the session lives on in SQLite, persisted
    // for a resume. Only a crash (an error as exit reason) is ended here.
    if (!msg.reason || st.shutting_down) return;
    spdlog::error("session {} actor died ({}); ending it", session_id, to_string(msg.reason));
    self->request(st.storage, caf::infinite, end_atom::value, session_id, std::string("closed"))
        .then([self](std::int64_t queued) {
          if (queued > 0) self->send(self->state.cleaner, wake_atom::value);
        }, [session_id](caf::error& e) {
          spdlog::error("ending crashed session {} failed: {}", session_id, to_string(e));
        });
  });
  return {
      [=](register_atom, const std::string& sid, const std::string& uid, const std::string& token,
          const std::string& full_name, const session_actor& session) {
        auto& st = self->state;
        if (st.presence) self->send(st.presence, online_atom::value, sid, uid, full_name);
        auto it = st.sessions.find(sid);
        if (it != st.sessions.end()) {
          st.by_token.erase(it->second.resume_token);
          if (it->second.session != session) st.by_actor.erase(it->second.session.address());
        }
        if (it == st.sessions.end() || it->second.session != session) self->monitor(session);
        st.reserved.erase(session.address());
        st.sessions[sid] = entry{uid, token, session};
        st.by_token[token] = sid;
        st.by_actor[session.address()] = sid;
        publish_counts(st);
        // A session that finished opening after the shutdown began is persisted like the others.
        if (st.shutting_down)
          self->request(session, persist_timeout, shutdown_atom::value).then([](bool) {}, [](caf::error&) {});
      },
      [=](unregister_atom, const std::string& sid) {
        auto& st = self->state;
        auto it = st.sessions.find(sid);
        if (it == st.sessions.end()) return;
        if (it->second.session.address() == self->current_sender()) {
          self->demonitor(it->second.session.address());
          forget(self, sid);
          admit_waiting(self);
          publish_counts(st);
        }
      },
      [=](lookup_atom, const std::string& token, const std::string& uid) -> session_actor {
        auto& st = self->state;
        auto t = st.by_token.find(token);
        if (t == st.by_token.end()) return {};
        auto& e = st.sessions[t->second];
        if (e.user_id != uid) return {};  // someone else's token: treated as unknown
        // The token stays until the session itself takes the asker's connection (and registers
        // its next token): an asker whose connection drops first leaves it working.
        return e.session;
      },
      [=](evict_atom a, const string_list& users) {
        // One pass over the sessions, however many guests went: sweeps delete them in batches.
        std::unordered_set<std::string> gone(users.begin(), users.end());
        for (auto& kv : self->state.sessions)
          if (gone.count(kv.second.user_id) > 0) self->send(kv.second.session, a);
      },
      [=](sweep_atom a) {
        for (auto& kv : self->state.sessions) self->send(kv.second.session, a);
      },
      [=](admit_atom) -> caf::result<bool> {
        auto& st = self->state;
        auto session = caf::actor_cast<session_actor>(self->current_sender());
        if (!session || st.shutting_down) return false;
        if (st.reserved.count(session.address()) > 0) return true;  // already holds one
        if (st.places_taken() < st.max_sessions) {
          st.reserved.insert(session.address());
          self->monitor(session);
          publish_counts(st);
          return true;
        }
        if (static_cast<std::int64_t>(st.queue.size()) >= st.max_queue) return false;
        auto rp = self->make_response_promise<bool>();
        st.queue.push_back({session, rp});
        self->monitor(session);
        publish_counts(st);
        self->send(session, queued_atom::value, static_cast<std::int64_t>(st.queue.size()));
        return rp;
      },
      [=](count_atom) -> std::int64_t { return static_cast<std::int64_t>(self->state.sessions.size()); },
      [=](shutdown_atom a) -> caf::result<bool> {
        auto& st = self->state;
        st.shutting_down = true;
        // Waiting connections are told the server is going away (1001), not that it is full.
        // anon_send: their `true` needs no answer.
        for (auto& w : st.queue) caf::anon_send(w.session, a);
        st.queue.clear();
        publish_counts(st);
        auto rp = self->make_response_promise<bool>();
        if (st.sessions.empty()) {
          rp.deliver(true);
          return rp;
        }
        auto pending = std::make_shared<std::size_t>(st.sessions.size());
        for (auto& kv : st.sessions) {
          self->request(kv.second.session, persist_timeout, a)
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

directory_actor spawn_directory(caf::actor_system& sys, storage_actor storage, cleaner_actor cleaner,
                                std::int64_t max_sessions, std::int64_t max_queue, presence_actor presence) {
  return sys.spawn(directory_behavior, std::move(storage), std::move(cleaner), max_sessions, max_queue,
                   std::move(presence));
}

}  // namespace tether
