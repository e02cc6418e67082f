// A session's life (PROTOCOL.md §3, §4, §11): authenticate, open (or wait for a place), heartbeat,
// idle, drop and resume window, and the one end_session path every ending takes.
#include "actors/session_state.hpp"

#include "actors/directory.hpp"
#include "actors/timer.hpp"
#include "proto/clock.hpp"
#include "proto/random.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace tether {

namespace {

using codec::err;

std::chrono::milliseconds ms(std::int64_t v) { return std::chrono::milliseconds(v); }

// The connection, closed and let go of: nothing it still says reaches the session.
void let_go_of_link(session_state& st, std::uint16_t code, const std::string& text) {
  if (auto l = st.out->link()) l->close(code, text);
  st.out->unbind();
  st.link = 0;
}

// ---- timers: they die with the actor (actors/timer.hpp) ----

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
  if (auto l = st.out->link()) l->ping();
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
  st.out->unbind();
  st.link = 0;
  auto window = st.window_ms >= 0 ? st.window_ms : cfg(self).session.resume_window_ms;
  if (window == 0) {
    end_session(self, st.detach_reason);
    return;
  }
  st.state = phase::detached;
  ++st.heartbeat_gen;  // stops the heartbeat chain
  lag_channels(self);
  report_guest_activity(self, true);
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

// ---- opening ----

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
  st.session_id = "s_" + random_hex(session_id_bytes);
  st.resume_token = random_hex(resume_token_bytes);
  st.files.files.clear();
  self->request(st.deps.storage, caf::infinite, open_atom::value, st.session_id, st.user_id, st.resume_token, st.guest,
                st.user_name)
      .then(
          [self](bool admitted) {
            if (admitted) return became_open(self, false);
            // A deleted guest's token (§11: refused from then on; the upgrade refuses it with 401
            // when it came there, this catches a token sent by message and a deletion meanwhile).
            send_error(self, err::unauthorized, "this guest no longer exists", self->state.connect_ref);
            self->state.session_id.clear();  // nothing was stored
            end_session(self, "inactive", 4010, "guest deleted");
          },
          [self](caf::error& e) { open_failed(self, e); });
}

// Authenticated: resume the session named by the token if it is ours and alive, else start fresh.
void begin_open(session_self self, const jwt::claims& who, const std::string& resume_token) {
  auto& st = self->state;
  st.state = phase::opening;
  st.user_id = who.sub;
  st.user_name = who.name;
  st.guest = who.guest;
  if (resume_token.empty())
    open_fresh(self);
  else
    begin_resume(self, resume_token);
}

// ---- messages before authentication ----

std::optional<jwt::claims> authenticate(session_self self, const std::optional<std::string>& token,
                                        const std::optional<std::string>& user_id, std::string& why) {
  const auto& c = cfg(self);
  if (token) {
    auto r = jwt::verify(*token, c.auth.jwt_secret, c.auth.allow_no_exp);
    if (!r.ok) why = "invalid token: " + r.why;
    return r.ok;
  }
  if (c.auth.insecure_user_id && user_id) return jwt::claims{*user_id, std::nullopt, "", false};
  why = "a token is required";
  return std::nullopt;
}

void pong(session_self self, const boost::json::value& ref) { reply(self, codec::pong{iso8601_now(), ref}); }

// connect, or register as the first message (the seed clients authenticate with it).
template <class Message>
void authenticate_with(session_self self, Message& m) {
  std::string why;
  auto who = authenticate(self, m.token, m.user_id, why);
  if (!who) {
    send_error(self, err::unauthorized, why, m.ref);
    return;
  }
  if (m.user_id && *m.user_id != who->sub) {
    send_error(self, err::forbidden, "user_id does not match the token", m.ref);
    return;
  }
  std::string resume = m.resume_token.value_or("");
  if constexpr (std::is_same_v<Message, codec::connect_msg>) {
    self->state.connect_ref = m.ref;
  } else {
    m.token.reset();
    m.resume_token.reset();
    self->state.held.emplace_back(std::move(m));  // answered once the session is open
  }
  begin_open(self, *who, resume);
}

void on_unauthenticated(session_self self, codec::client_message& m) {
  if (auto* c = std::get_if<codec::connect_msg>(&m)) return authenticate_with(self, *c);
  if (auto* r = std::get_if<codec::register_msg>(&m)) return authenticate_with(self, *r);
  if (std::holds_alternative<codec::ping_msg>(m)) return pong(self, codec::ref_of(m));
  send_error(self, err::unauthorized, "authenticate first: send connect with a token", codec::ref_of(m));
}

// Every message but `ping` counts, bad frames included (§11). False when it was refused.
bool within_rate(session_self self, const boost::json::value& ref) {
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

bool no_link(const session_state& st) {
  return st.state == phase::ending || st.state == phase::detached || st.state == phase::binding;
}

}  // namespace

// ---- shared with the other parts ----

// §11: a guest is deleted after users.guest_inactive_ms without application messages, connected or
// not. Storage (users.last_active_ms) hears of them at most once per guest_activity_lag_ms, on the
// first message after that long, so it is never further behind than that; the sweep waits that
// much longer, so no active guest is deleted, for the price of one write per guest per lag.
void report_guest_activity(session_self self, bool final) {
  auto& st = self->state;
  if (!st.guest || st.session_id.empty()) return;
  if (!final) st.guest_active_ms = unix_ms();
  if (st.guest_active_ms <= st.guest_reported_ms) return;
  if (!final && st.guest_active_ms - st.guest_reported_ms < guest_activity_lag_ms(cfg(self))) return;
  st.guest_reported_ms = st.guest_active_ms;
  self->send(st.deps.storage, touch_atom::value, st.user_id, st.guest_active_ms);
}

void send_error(session_self self, err code, std::string_view message, const boost::json::value& ref) {
  self->state.out->send(codec::error_frame(code, message, ref));
}

void end_session(session_self self, const std::string& reason, std::uint16_t close_code, const std::string& close_text) {
  auto& st = self->state;
  if (st.state == phase::ending) return;
  bool had_session = !st.session_id.empty() && st.state != phase::authenticating;
  st.state = phase::ending;
  let_go_of_link(st, close_code ? close_code : 1000, close_text);
  leave_all_rooms(self, reason);
  leave_all_channels(self);
  if (!had_session) {
    self->quit();
    return;
  }
  report_guest_activity(self, true);
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

void became_open(session_self self, bool resumed) {
  auto& st = self->state;
  if (ended(self)) return;
  st.state = phase::open;
  self->send(st.deps.directory, register_atom::value, st.session_id, st.user_id, st.resume_token, st.user_name,
             caf::actor_cast<session_actor>(self));
  if (st.link_closed_while_opening) {
    on_link_closed(self, 1006, st.closed_by_server);
    return;
  }
  reply(self, codec::connected{st.session_id, st.user_id, st.resume_token, cfg(self).heartbeat.interval_ms, resumed,
                               resumed ? st.files.files : std::vector<std::string>{}, st.connect_ref});
  st.connect_ref = nullptr;
  if (!resumed) subscribe_endpoint(self);
  st.last_activity = st.last_app_activity = now(self);
  // Opening or resuming counts as a guest's activity: storage recorded an open already (admit_user),
  // a resume it hears of here.
  st.guest_active_ms = unix_ms();
  if (resumed)
    report_guest_activity(self, true);
  else
    st.guest_reported_ms = st.guest_active_ms;
  st.missed_pings = 0;
  ++st.heartbeat_gen;
  schedule_heartbeat(self);
  schedule_idle_check(self,
                      std::chrono::duration_cast<caf::actor_clock::duration_type>(ms(cfg(self).session.idle_timeout_ms)));
  auto held = std::move(st.held);
  st.held.clear();
  for (auto& m : held) {
    if (st.state != phase::open) break;
    on_open_message(self, m);
  }
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

void on_link_closed(session_self self, std::uint16_t, bool by_server) {
  auto& st = self->state;
  switch (st.state) {
    case phase::authenticating:
      st.out->unbind();
      self->quit();
      return;
    case phase::opening:
      st.out->unbind();
      if (st.queue_position > 0 || st.resuming) {
        // Gave up waiting for a place (the directory sees it go), or for the session it was
        // resuming: that session never heard of it, and its token still works.
        st.state = phase::ending;
        self->quit();
        return;
      }
      st.link_closed_while_opening = true;
      st.closed_by_server = by_server;
      return;
    case phase::open:
      st.out->unbind();
      st.link = 0;
      if (st.leaving)
        end_session(self, "left");
      else if (by_server)
        end_session(self, "closed");  // a protocol violation or limit: no resume window
      else
        detach(self);
      return;
    case phase::detached:
    case phase::binding:
    case phase::ending:
      return;
  }
}

void on_open_message(session_self self, codec::client_message& m) {
  auto& st = self->state;
  std::visit(
      [&](auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, codec::ping_msg>) {
          pong(self, msg.ref);
        } else if constexpr (std::is_same_v<T, codec::connect_msg>) {
          send_error(self, err::conflict, "this connection is already authenticated", msg.ref);
        } else if constexpr (std::is_same_v<T, codec::before_disconnect_msg>) {
          // §4: its rooms (and channels) end at once, reason `left`; the close then ends the session.
          st.leaving = true;
          leave_all_rooms(self, "left");
          leave_all_channels(self);
          reply(self, codec::ack_before_disconnect{msg.ref});
        } else {
          on_message(self, msg);  // a feature part (session_files.cpp, ...)
        }
      },
      m);
}

// ---- what the connection sends ----

void on_client_message(session_self self, codec::client_message& m) {
  auto& st = self->state;
  if (no_link(st)) return;
  st.missed_pings = 0;
  st.last_activity = now(self);
  bool is_ping = std::holds_alternative<codec::ping_msg>(m);
  if (!is_ping && !within_rate(self, codec::ref_of(m))) return;
  st.bad_frames = 0;
  if (!is_ping) st.last_app_activity = st.last_activity;
  switch (st.state) {
    case phase::authenticating:
      on_unauthenticated(self, m);
      return;
    case phase::opening:
      if (is_ping) {
        pong(self, codec::ref_of(m));
      } else if (st.queue_position > 0) {
        send_error(self, err::capacity,
                   "waiting for a place (position " + std::to_string(st.queue_position) + "); only ping is accepted",
                   codec::ref_of(m));
      } else if (st.held.size() >= max_held_messages) {
        send_error(self, err::rate_limited, "too many messages before the session opened", codec::ref_of(m));
      } else {
        st.held.push_back(std::move(m));
      }
      return;
    case phase::open:
      if (!is_ping) report_guest_activity(self, false);
      on_open_message(self, m);
      return;
    case phase::detached:
    case phase::binding:
    case phase::ending:
      return;
  }
}

void on_decode_error(session_self self, const codec::decode_error& e) {
  auto& st = self->state;
  if (no_link(st)) return;
  st.missed_pings = 0;
  st.last_activity = now(self);
  if (!within_rate(self, e.ref)) return;
  send_error(self, e.code, e.message, e.ref);
  if (!codec::counts_as_bad_frame(e.code) || ++st.bad_frames < max_bad_frames) return;
  end_session(self, "closed", 1008, "too many bad frames");
}

void on_activity(session_self self) {
  self->state.missed_pings = 0;
  self->state.last_activity = now(self);
}

void on_queued(session_self self, std::int64_t position) {
  auto& st = self->state;
  if (st.state != phase::opening || position == st.queue_position) return;
  st.queue_position = position;
  reply(self, codec::queued{position});
}

void on_sweep(session_self self) {
  auto& st = self->state;
  if (st.state == phase::open && now(self) - st.last_activity > ms(cfg(self).session.stale_after_ms))
    end_session(self, "stale", 4008, "stale session");
}

caf::result<bool> on_shutdown(session_self self) {
  auto& st = self->state;
  if (st.state != phase::open && st.state != phase::binding) {
    let_go_of_link(st, 1001, "server going away");
    if (st.state != phase::ending) self->quit();
    return true;
  }
  // Persisted as waiting for a resume: after the restart the window starts again. Its channels
  // record where it stopped, so that the resume replays from there.
  let_go_of_link(st, 1001, "server going away");
  lag_channels(self);
  st.state = phase::ending;
  report_guest_activity(self, true);
  auto rp = self->make_response_promise<bool>();
  self->request(st.deps.storage, caf::infinite, detach_atom::value, st.session_id, std::string("shutdown"))
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
}

void start_session(session_self self, session_start start) {
  auto& st = self->state;
  st.limiter.emplace(cfg(self).limits.messages_per_second, cfg(self).limits.burst, now(self));
  if (start.link) {
    st.out->bind(start.link);
    st.link = start.link->id();
  }
  st.channels.endpoint_channel = std::move(start.endpoint_channel);
  st.channels.endpoint_since = start.endpoint_since;
  if (auto k = parse_channel_key(st.channels.endpoint_channel); k.what == channel_key::kind::chat)
    st.channels.endpoint_chat = k.chat_id;
  if (start.restored) {
    // Waiting for a resume since before a restart: the window counts from now.
    st.session_id = start.restored->session_id;
    st.user_id = start.restored->user_id;
    st.guest = start.restored->guest;
    st.resume_token = start.restored->resume_token;
    st.files.files = start.restored->files;
    st.detach_reason = start.restored->pending_reason.empty() ? "closed" : start.restored->pending_reason;
    st.window_ms = start.restored->window_ms;
    st.state = phase::open;  // so that detach() applies the window
    self->send(st.deps.directory, register_atom::value, st.session_id, st.user_id, st.resume_token, st.user_name,
               caf::actor_cast<session_actor>(self));
    detach(self);
    rejoin_places(self, start.restored->rooms);
    resubscribe_restored(self, start.restored->channels);
  } else if (start.user) {
    begin_open(self, *start.user, start.resume_token);
  } else {
    start_timer(self, ms(cfg(self).auth.timeout_ms), [self] {
      if (self->state.state == phase::authenticating) end_session(self, "closed", 4001, "authentication timeout");
    });
  }
}

}  // namespace tether
