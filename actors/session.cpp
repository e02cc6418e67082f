#include "actors/session.hpp"

#include "actors/directory.hpp"
#include "actors/live_counts.hpp"
#include "actors/rate_limiter.hpp"
#include "actors/timer.hpp"
#include "proto/clock.hpp"
#include "proto/random.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>


namespace tether {

namespace {

using codec::client_message;
using codec::err;
using codec::msg_type;
namespace json = boost::json;

// §1: the 20th bad frame in a row still gets its error, then the connection closes (1008).
constexpr int max_bad_frames = 20;
// Messages that arrive while the session is being opened wait; past this many they are refused.
constexpr std::size_t max_held_messages = 256;

// handing_over: a resuming session (the heir) has the snapshot, but this actor still owns the
// session until the heir says adopted (then it quits) or declined / goes away (then it ends it).
enum class phase { authenticating, opening, open, detached, handing_over, ending };

struct session_state {
  session_deps deps;
  std::shared_ptr<client_link> link;
  phase state = phase::authenticating;

  std::string session_id, user_id, resume_token;
  std::vector<std::string> files;  // tracked, as last confirmed by storage
  std::string detach_reason = "closed";  // session_closed reason if the resume window passes
  std::int64_t window_ms = -1;           // a restored session's own window; -1: resume_window_ms

  std::vector<client_message> held;  // arrived while opening (a vector: empty costs nothing)
  json::value connect_ref;          // echoed on `connected` when it answers a `connect`
  bool leaving = false;             // `before_disconnect` received: the close ends it, no window
  bool link_closed_while_opening = false;
  std::int64_t queue_position = 0;  // > 0 while waiting for a place
  bool closed_by_server = false;

  std::optional<rate_limiter> limiter;  // created with the actor (needs the clock)
  int bad_frames = 0;
  int missed_pings = 0;
  caf::actor_clock::time_point last_activity;      // any frame: stale sweep
  caf::actor_clock::time_point last_app_activity;  // application messages: idle timeout
  std::uint64_t heartbeat_gen = 0;
  std::uint64_t window_gen = 0;
  bool idle_timer_pending = false;
  caf::actor_addr heir;  // while handing_over: the only actor whose adopted/declined counts

  static inline const char* name = "session";
};

using session_self = session_actor::stateful_pointer<session_state>;

const settings& cfg(session_self self) { return *self->state.deps.cfg; }
caf::actor_clock::time_point now(session_self self) { return self->clock().now(); }
std::chrono::milliseconds ms(std::int64_t v) { return std::chrono::milliseconds(v); }

void send(session_self self, frame f) {
  if (self->state.link) self->state.link->send(std::move(f));
}

void send_error(session_self self, err code, std::string_view message, const json::value& ref) {
  send(self, codec::error_frame(code, message, ref));
}

void with_ref(json::object& o, const json::value& ref) {
  if (!ref.is_null()) o["ref"] = ref;
}

json::array to_json(const std::vector<std::string>& ids) {
  json::array a;
  a.reserve(ids.size());
  for (const auto& id : ids) a.emplace_back(id);
  return a;
}

void reply_ack(session_self self, const char* what, json::object fields, const json::value& ref) {
  fields["type"] = "ack";
  fields["for"] = what;
  with_ref(fields, ref);
  send(self, codec::to_frame(fields));
}

// ---- the end of a session: the one path every ending takes ----

void end_session(session_self self, const std::string& reason, std::uint16_t close_code = 0,
                 const std::string& close_text = {}) {
  auto& st = self->state;
  if (st.state == phase::ending) return;
  bool had_session = !st.session_id.empty() && st.state != phase::authenticating;
  st.state = phase::ending;
  if (st.link) {
    st.link->close(close_code ? close_code : 1000, close_text);
    st.link.reset();
  }
  if (!had_session) {
    self->quit();
    return;
  }
  self->send(st.deps.directory, unregister_atom::value, st.session_id);
  // Quit only once the end is committed: a crash before that leaves the session to recovery.
  self->request(st.deps.storage, caf::infinite, end_atom::value, st.session_id, reason)
      .then(
          [self, reason](std::int64_t queued) {
            spdlog::debug("session {} ended ({}), {} file(s) queued for deletion", self->state.session_id, reason,
                          queued);
            if (queued > 0) self->send(self->state.deps.cleaner, wake_atom::value);
            self->quit();
          },
          [self](caf::error& e) {
            spdlog::error("session {}: recording its end failed: {}; recovery will finish it", self->state.session_id,
                          to_string(e));
            self->quit();
          });
}

// ---- timers ----

// Timers die with the actor (actors/timer.hpp): an ended session leaves nothing in the clock.
void on_heartbeat(session_self self, std::uint64_t gen);
void on_idle_check(session_self self);

void schedule_heartbeat(session_self self) {
  auto gen = self->state.heartbeat_gen;
  start_timer(self, ms(cfg(self).heartbeat.interval_ms), [self, gen] { on_heartbeat(self, gen); });
}

void schedule_idle_check(session_self self, caf::actor_clock::duration_type after) {
  if (self->state.idle_timer_pending) return;
  self->state.idle_timer_pending = true;
  start_timer(self, after, [self] { on_idle_check(self); });
}

void on_heartbeat(session_self self, std::uint64_t gen) {
  auto& st = self->state;
  if (gen != st.heartbeat_gen || st.state != phase::open) return;
  if (st.missed_pings >= cfg(self).heartbeat.max_missed) {
    end_session(self, "timeout", 4008, "heartbeat timeout");
    return;
  }
  ++st.missed_pings;
  if (st.link) st.link->ping();
  schedule_heartbeat(self);
}

void on_idle_check(session_self self) {
  auto& st = self->state;
  st.idle_timer_pending = false;
  if (st.state != phase::open) return;
  auto limit = ms(cfg(self).session.idle_timeout_ms);
  auto elapsed = now(self) - st.last_app_activity;
  if (elapsed >= limit)
    end_session(self, "idle", 4010, "idle timeout");
  else
    schedule_idle_check(self, std::chrono::duration_cast<caf::actor_clock::duration_type>(limit - elapsed));
}

// ---- dropping and detaching ----

// An unplanned drop: keep the session for the resume window.
void detach(session_self self) {
  auto& st = self->state;
  st.link.reset();
  auto window = st.window_ms >= 0 ? st.window_ms : cfg(self).session.resume_window_ms;
  if (window == 0) {
    end_session(self, st.detach_reason);
    return;
  }
  st.state = phase::detached;
  ++st.heartbeat_gen;  // stops the heartbeat chain
  self->request(st.deps.storage, caf::infinite, detach_atom::value, st.session_id, st.detach_reason)
      .then([](bool) {}, [self](caf::error& e) {
        spdlog::error("session {}: recording the drop failed: {}", self->state.session_id, to_string(e));
      });
  auto gen = ++st.window_gen;
  start_timer(self, ms(window), [self, gen] {
    if (self->state.state == phase::detached && gen == self->state.window_gen)
      end_session(self, self->state.detach_reason);
  });
}

void on_link_closed(session_self self, std::uint16_t code, bool by_server) {
  auto& st = self->state;
  switch (st.state) {
    case phase::authenticating:
      st.link.reset();
      self->quit();
      return;
    case phase::opening:
      st.link.reset();
      if (st.queue_position > 0) {
        self->quit();  // gave up waiting for a place; the directory sees it go
        return;
      }
      st.link_closed_while_opening = true;
      st.closed_by_server = by_server;
      return;
    case phase::open:
      st.link.reset();
      if (st.leaving)
        end_session(self, "left");
      else if (by_server)
        end_session(self, "closed");  // a protocol violation or limit: no resume window
      else
        detach(self);
      return;
    case phase::detached:
    case phase::handing_over:
    case phase::ending:
      return;
  }
}

// ---- opening ----

void handle_open_message(session_self self, client_message& m);

// While a session opens, replies may arrive after it was already ended (20 bad frames, say):
// the end wins.
bool ended(session_self self) { return self->state.state == phase::ending; }

void became_open(session_self self, bool resumed) {
  auto& st = self->state;
  if (ended(self)) return;
  st.state = phase::open;
  self->send(st.deps.directory, register_atom::value, st.session_id, st.user_id, st.resume_token,
             caf::actor_cast<session_actor>(self));
  if (st.link_closed_while_opening) {
    on_link_closed(self, 1006, st.closed_by_server);
    return;
  }
  json::object o;
  o["type"] = "connected";
  o["session_id"] = st.session_id;
  o["user_id"] = st.user_id;
  o["resume_token"] = st.resume_token;
  o["heartbeat_ms"] = cfg(self).heartbeat.interval_ms;
  o["resumed"] = resumed;
  if (resumed) o["file_ids"] = to_json(st.files);
  with_ref(o, st.connect_ref);
  send(self, codec::to_frame(o));

  st.last_activity = st.last_app_activity = now(self);
  st.missed_pings = 0;
  ++st.heartbeat_gen;
  schedule_heartbeat(self);
  schedule_idle_check(self, std::chrono::duration_cast<caf::actor_clock::duration_type>(ms(cfg(self).session.idle_timeout_ms)));
  auto held = std::move(st.held);
  st.held.clear();
  for (auto& m : held) {
    if (st.state != phase::open) break;
    handle_open_message(self, m);
  }
}

void open_failed(session_self self, const caf::error& e) {
  spdlog::error("session for {}: opening failed: {}", self->state.user_id, to_string(e));
  send_error(self, err::internal, "the session could not be stored; try again", self->state.connect_ref);
  self->state.session_id.clear();  // nothing to end
  end_session(self, "closed", 1011, "internal error");
}

void create(session_self self) {
  auto& st = self->state;
  if (ended(self)) return;
  st.queue_position = 0;
  st.session_id = "s_" + random_hex(12);
  st.resume_token = random_hex(24);
  st.files.clear();
  self->request(st.deps.storage, caf::infinite, open_atom::value, st.session_id, st.user_id, st.resume_token)
      .then([self](bool) { became_open(self, false); }, [self](caf::error& e) { open_failed(self, e); });
}

// A new session needs a place (server.max_sessions); it may wait in the queue for one.
void open_fresh(session_self self) {
  self->request(self->state.deps.directory, caf::infinite, admit_atom::value)
      .then(
          [self](bool admitted) {
            if (ended(self)) return;
            if (admitted) return create(self);
            send_error(self, err::capacity, "the server is full; try again later", self->state.connect_ref);
            end_session(self, "closed", 4030, "over capacity");
          },
          [self](caf::error& e) { open_failed(self, e); });
}

// The resume failed in storage: the session is ours now, so it is ours to end (if that fails
// too, it stays in SQLite and recovery ends it).
void adopt_failed(session_self self, const caf::error& e) {
  spdlog::error("session {}: resuming failed: {}", self->state.session_id, to_string(e));
  send_error(self, err::internal, "the session could not be stored; try again", self->state.connect_ref);
  end_session(self, "closed", 1011, "internal error");
}

void adopt(session_self self, const session_actor& previous, const session_snapshot& snap) {
  auto& st = self->state;
  if (ended(self)) {
    self->send(previous, declined_atom::value);  // not ours after all: the old actor ends it
    return;
  }
  // Ours from here on, before anything can end us: our end_session ends this session. Only then
  // is the old actor released (it ends the session itself until it hears this).
  st.session_id = snap.session_id;
  self->send(previous, adopted_atom::value);
  st.resume_token = random_hex(24);
  self->request(st.deps.storage, caf::infinite, resume_atom::value, st.session_id, st.resume_token)
      .then(
          [self](resumed_session& r) {
            if (!r.found) {
              // Ended or unknown in SQLite (ended behind the old actor's back): nothing to resume,
              // and nothing of ours to end. A fresh session, resumed:false (§11).
              if (ended(self)) return;
              spdlog::warn("session {}: resume found it ended; opening a fresh session", self->state.session_id);
              self->state.session_id.clear();
              self->state.files.clear();
              open_fresh(self);
              return;
            }
            self->state.files = std::move(r.files);
            became_open(self, true);
          },
          [self](caf::error& e) { adopt_failed(self, e); });
}

// Authenticated: resume the session named by the token if it is ours and alive, else start fresh.
void begin_open(session_self self, const jwt::claims& who, const std::string& resume_token) {
  auto& st = self->state;
  st.state = phase::opening;
  st.user_id = who.sub;
  if (resume_token.empty()) {
    open_fresh(self);
    return;
  }
  self->request(st.deps.directory, caf::infinite, lookup_atom::value, resume_token, st.user_id)
      .then(
          [self](const session_actor& previous) {
            if (!previous) {
              open_fresh(self);
              return;
            }
            self->request(previous, std::chrono::seconds(5), takeover_atom::value)
                .then([self, previous](const session_snapshot& snap) { adopt(self, previous, snap); },
                      [self, previous](caf::error&) {
                        // Refused, or timed out: then the old actor may still be alive and may
                        // even have answered too late. It keeps the session until told: decline,
                        // so that it ends it (ignored when it refused), then start afresh.
                        self->send(previous, declined_atom::value);
                        open_fresh(self);
                      });
          },
          [self](caf::error&) { open_fresh(self); });
}

// ---- messages before authentication ----

std::optional<jwt::claims> authenticate(session_self self, const client_message& m, std::string& why) {
  const auto& c = cfg(self);
  if (m.token) {
    auto r = jwt::verify(*m.token, c.auth.jwt_secret, c.auth.allow_no_exp);
    if (!r.ok) why = "invalid token: " + r.why;
    return r.ok;
  }
  if (c.auth.insecure_user_id && m.user_id) return jwt::claims{*m.user_id, std::nullopt, "", false};
  why = "a token is required";
  return std::nullopt;
}

void pong(session_self self, const json::value& ref) {
  json::object o;
  o["type"] = "pong";
  o["server_time"] = iso8601_now();
  with_ref(o, ref);
  send(self, codec::to_frame(o));
}

void handle_unauthenticated(session_self self, client_message& m) {
  auto& st = self->state;
  if (m.type == msg_type::ping) {
    pong(self, m.ref);
    return;
  }
  if (m.type != msg_type::connect && m.type != msg_type::register_files) {
    send_error(self, err::unauthorized, "authenticate first: send connect with a token", m.ref);
    return;
  }
  std::string why;
  auto who = authenticate(self, m, why);
  if (!who) {
    send_error(self, err::unauthorized, why, m.ref);
    return;
  }
  if (m.user_id && *m.user_id != who->sub) {
    send_error(self, err::forbidden, "user_id does not match the token", m.ref);
    return;
  }
  std::string resume = m.resume_token.value_or("");
  if (m.type == msg_type::connect) {
    st.connect_ref = m.ref;
  } else {
    m.token.reset();
    m.resume_token.reset();
    st.held.push_back(std::move(m));  // the register itself is answered once the session is open
  }
  begin_open(self, *who, resume);
}

// ---- messages of an open session ----

json::array rejected_json(const track_result& r) {
  json::array a;
  for (const auto& [id, outcome] : r.rejected)
    a.push_back(json::object{{"file_id", id}, {"code", outcome == track_outcome::forbidden ? "forbidden" : "not_found"}});
  return a;
}

void on_register(session_self self, const client_message& m) {
  auto& st = self->state;
  auto ref = m.ref;
  self->request(st.deps.storage, caf::infinite, track_atom::value, st.session_id, st.user_id,
                m.file_ids.value_or(string_list{}), m.draft_id.value_or(""))
      .then(
          [self, ref](track_result& r) {
            self->state.files = r.tracked;
            json::object o{{"type", "registered"}, {"session_id", self->state.session_id},
                           {"file_ids", to_json(r.tracked)}, {"rejected", rejected_json(r)}};
            with_ref(o, ref);
            send(self, codec::to_frame(o));
          },
          [self, ref](caf::error&) { send_error(self, err::internal, "could not record the files; try again", ref); });
}

void on_file_uploaded(session_self self, const client_message& m) {
  auto& st = self->state;
  auto ref = m.ref;
  auto file_id = *m.file_id;
  self->request(st.deps.storage, caf::infinite, track_atom::value, st.session_id, st.user_id, string_list{file_id},
                std::string())
      .then(
          [self, ref, file_id](track_result& r) {
            self->state.files = r.tracked;
            if (!r.rejected.empty()) {
              bool forbidden = r.rejected.front().second == track_outcome::forbidden;
              send_error(self, forbidden ? err::forbidden : err::not_found,
                         forbidden ? "file belongs to another user" : "no such file", ref);
              return;
            }
            reply_ack(self, "file_uploaded", {{"file_id", file_id}}, ref);
          },
          [self, ref](caf::error&) { send_error(self, err::internal, "could not record the file; try again", ref); });
}

void on_file_removed(session_self self, const client_message& m) {
  auto& st = self->state;
  auto ref = m.ref;
  auto file_id = *m.file_id;
  self->request(st.deps.storage, caf::infinite, untrack_atom::value, st.session_id, st.user_id, file_id)
      .then(
          [self, ref, file_id](bool was_tracked) {
            if (!was_tracked) {
              send_error(self, err::not_found, "file is not tracked by this session", ref);
              return;
            }
            auto& files = self->state.files;
            files.erase(std::remove(files.begin(), files.end(), file_id), files.end());
            reply_ack(self, "file_removed", {{"file_id", file_id}}, ref);
          },
          [self, ref](caf::error&) { send_error(self, err::internal, "could not record the change; try again", ref); });
}

void on_post_submitted(session_self self, const client_message& m) {
  auto& st = self->state;
  auto ref = m.ref;
  auto post_id = m.post_id;
  self->request(st.deps.storage, caf::infinite, submit_atom::value, st.session_id, st.user_id, post_id.value_or(""))
      .then(
          [self, ref, post_id](string_list& kept) {
            self->state.files.clear();
            json::object o{{"kept", to_json(kept)}};
            o["post_id"] = post_id ? json::value(*post_id) : json::value(nullptr);
            reply_ack(self, "post_submitted", std::move(o), ref);
          },
          [self, ref](caf::error&) { send_error(self, err::internal, "could not record the submission; try again", ref); });
}

void handle_open_message(session_self self, client_message& m) {
  auto& st = self->state;
  switch (m.type) {
    case msg_type::ping:
      pong(self, m.ref);
      return;
    case msg_type::connect:
      send_error(self, err::conflict, "this connection is already authenticated", m.ref);
      return;
    case msg_type::register_files:
      if (m.user_id && *m.user_id != st.user_id) {
        send_error(self, err::forbidden, "user_id does not match the session's user", m.ref);
        return;
      }
      on_register(self, m);
      return;
    case msg_type::file_uploaded:
      on_file_uploaded(self, m);
      return;
    case msg_type::file_removed:
      on_file_removed(self, m);
      return;
    case msg_type::post_submitted:
      on_post_submitted(self, m);
      return;
    case msg_type::before_disconnect:
      st.leaving = true;
      reply_ack(self, "before_disconnect", {}, m.ref);
      return;
  }
}

// Every message but `ping` counts, bad frames included (§11). False when it was refused.
bool within_rate(session_self self, const json::value& ref) {
  auto& st = self->state;
  switch (st.limiter->take(now(self))) {
    case rate_limiter::verdict::allowed:
      return true;
    case rate_limiter::verdict::refused:
      send_error(self, err::rate_limited, "too many messages; slow down", ref);
      return false;
    case rate_limiter::verdict::abuse:
      send_error(self, err::rate_limited, "too many messages; closing", ref);
      end_session(self, "closed", 4029, "rate limit abuse");
      return false;
  }
  return false;
}

bool link_gone(const session_state& st) {
  return st.state == phase::ending || st.state == phase::detached || st.state == phase::handing_over;
}

void on_client_message(session_self self, client_message& m) {
  auto& st = self->state;
  if (link_gone(st)) return;
  st.missed_pings = 0;
  st.last_activity = now(self);
  if (m.type != msg_type::ping && !within_rate(self, m.ref)) return;
  st.bad_frames = 0;
  if (m.type != msg_type::ping) st.last_app_activity = st.last_activity;
  switch (st.state) {
    case phase::authenticating:
      handle_unauthenticated(self, m);
      return;
    case phase::opening:
      if (m.type == msg_type::ping) {
        pong(self, m.ref);
      } else if (st.queue_position > 0) {
        send_error(self, err::capacity,
                   "waiting for a place (position " + std::to_string(st.queue_position) + "); only ping is accepted",
                   m.ref);
      } else if (st.held.size() >= max_held_messages) {
        send_error(self, err::rate_limited, "too many messages before the session opened", m.ref);
      } else {
        st.held.push_back(std::move(m));
      }
      return;
    case phase::open:
      handle_open_message(self, m);
      return;
    case phase::detached:
    case phase::handing_over:
    case phase::ending:
      return;
  }
}

void on_decode_error(session_self self, const codec::decode_error& e) {
  auto& st = self->state;
  if (link_gone(st)) return;
  st.missed_pings = 0;
  st.last_activity = now(self);
  if (!within_rate(self, e.ref)) return;
  send_error(self, e.code, e.message, e.ref);
  if (!codec::counts_as_bad_frame(e.code) || ++st.bad_frames < max_bad_frames) return;
  end_session(self, "closed", 1008, "too many bad frames");
}

// ---- the behavior ----

session_actor::behavior_type session_behavior(session_self self, session_deps deps, session_start start) {
  auto& st = self->state;
  self->set_default_handler(caf::print_and_drop);
  st.deps = std::move(deps);
  st.limiter.emplace(cfg(self).limits.messages_per_second, cfg(self).limits.burst, now(self));
  st.link = std::move(start.link);
  // An heir that ends before it adopted this session (20 bad frames, 4029, killed) leaves it to us.
  self->set_down_handler([self](caf::down_msg& m) {
    if (self->state.state == phase::handing_over && m.source == self->state.heir) end_session(self, "closed");
  });
  if (start.restored) {
    // Waiting for a resume since before a restart: the window counts from now.
    st.session_id = start.restored->session_id;
    st.user_id = start.restored->user_id;
    st.resume_token = start.restored->resume_token;
    st.files = start.restored->files;
    st.detach_reason = start.restored->pending_reason.empty() ? "closed" : start.restored->pending_reason;
    st.window_ms = start.restored->window_ms;
    st.state = phase::open;  // so that detach() applies the window
    self->send(st.deps.directory, register_atom::value, st.session_id, st.user_id, st.resume_token,
               caf::actor_cast<session_actor>(self));
    detach(self);
  } else if (start.user) {
    begin_open(self, *start.user, start.resume_token);
  } else {
    start_timer(self, ms(cfg(self).auth.timeout_ms), [self] {
      if (self->state.state == phase::authenticating) end_session(self, "closed", 4001, "authentication timeout");
    });
  }
  return {
      [=](client_message m) { on_client_message(self, m); },
      [=](const codec::decode_error& e) { on_decode_error(self, e); },
      [=](activity_atom) {
        self->state.missed_pings = 0;
        self->state.last_activity = now(self);
      },
      [=](closed_atom, std::uint16_t code, bool by_server) { on_link_closed(self, code, by_server); },
      [=](queued_atom, std::int64_t position) {
        auto& s = self->state;
        if (s.state != phase::opening || position == s.queue_position) return;
        s.queue_position = position;
        send(self, codec::to_frame(json::object{{"type", "queued"}, {"position", position}}));
      },
      [=](sweep_atom) {
        auto& s = self->state;
        if (s.state == phase::open && now(self) - s.last_activity > ms(cfg(self).session.stale_after_ms))
          end_session(self, "stale", 4008, "stale session");
      },
      [=](takeover_atom) -> caf::result<session_snapshot> {
        auto& s = self->state;
        auto heir = caf::actor_cast<caf::actor_addr>(self->current_sender());
        if ((s.state != phase::open && s.state != phase::detached) || !heir)
          return caf::make_error(caf::sec::request_receiver_down, "session is not resumable");
        if (s.link) s.link->close(4009, "replaced by a newer session");
        s.link.reset();
        // Still ours until the heir answers (docs/architecture.md, "Resume: who owns the session
        // at each step"); its heartbeat, idle check and window are over (they check the phase).
        s.state = phase::handing_over;
        s.heir = heir;
        self->monitor(heir);  // an heir gone before answering: ours to end (down handler)
        return session_snapshot{s.session_id, s.user_id};
      },
      [=](adopted_atom) {
        auto& s = self->state;
        if (s.state != phase::handing_over || caf::actor_cast<caf::actor_addr>(self->current_sender()) != s.heir)
          return;
        // The heir owns the session now. A normal exit without unregistering: the directory
        // keeps the session alive (it is the heir's).
        s.state = phase::ending;
        self->quit();
      },
      [=](declined_atom) {
        auto& s = self->state;
        if (s.state == phase::handing_over && caf::actor_cast<caf::actor_addr>(self->current_sender()) == s.heir)
          end_session(self, "closed");
      },
      [=](shutdown_atom) -> caf::result<bool> {
        auto& s = self->state;
        if (s.state != phase::open) {
          if (s.link) s.link->close(1001, "server going away");
          s.link.reset();
          if (s.state != phase::ending) self->quit();
          return true;
        }
        // Persisted as waiting for a resume: after the restart the window starts again.
        if (s.link) s.link->close(1001, "server going away");
        s.link.reset();
        s.state = phase::ending;
        auto rp = self->make_response_promise<bool>();
        self->request(s.deps.storage, caf::infinite, detach_atom::value, s.session_id, std::string("shutdown"))
            .then(
                [self, rp](bool) mutable {
                  rp.deliver(true);
                  self->quit();
                },
                [self, rp](caf::error&) mutable {
                  rp.deliver(true);
                  self->quit();
                });
        return rp;
      },
  };
}

// A class rather than a function-based actor only to count live actor objects: CAF destroys the
// state when the actor quits, but the object itself lives until the last reference to it is gone,
// which is what a leak holds on to.
class session_impl : public session_actor::stateful_base<session_state> {
public:
  session_impl(caf::actor_config& cfg, session_deps deps, session_start start)
      : session_actor::stateful_base<session_state>(cfg), deps_(std::move(deps)), start_(std::move(start)) {
    ++live().session_actors;
  }
  ~session_impl() override { --live().session_actors; }

  behavior_type make_behavior() override {
    return session_behavior(this, std::move(deps_), std::move(start_));
  }

private:
  session_deps deps_;
  session_start start_;
};

}  // namespace

session_actor spawn_session(caf::actor_system& sys, const session_deps& deps, session_start start) {
  return sys.spawn<session_impl>(deps, std::move(start));
}

}  // namespace tether
