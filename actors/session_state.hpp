#pragma once
// The session actor's state and the helpers its parts share. Internal to actors/session*.cpp.
//
// The actor is split by concern, one file each:
//   session.cpp            the behavior: routes every message to its part; the actor class
//   session_lifecycle.cpp  authenticate, open, heartbeat, idle, drop, resume window, end
//   session_resume.cpp     a resume: the new connection's actor hands its link to the session
//   session_files.cpp      the abandoned-upload feature: register, file_uploaded/removed, submit
//   session_rooms.cpp      rooms: join, leave, publish, the room list
//   session_channels.cpp   channels: subscribe, chat, receipts, typing, history
// Rooms and channels add a part of their own (state struct below, handlers, an on_end hook).
#include "actors/outbox.hpp"
#include "actors/room.hpp"
#include "actors/rate_limiter.hpp"
#include "actors/session.hpp"

#include <caf/actor_clock.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <string>
#include <vector>

namespace tether {

// authenticating: no user yet. opening: authenticated, waiting for storage (or a place, or the
// session it resumes). open: a live connection. detached: the connection dropped, the resume
// window runs. binding: another connection is taking this session over (storage is recording
// it). ending: end_session ran; nothing more happens but the end commit.
enum class phase { authenticating, opening, open, detached, binding, ending };

// The abandoned-upload part: what the session tracks, as storage last confirmed it.
struct files_part {
  std::vector<std::string> files;
};

// The rooms part: the rooms the session is in (room id -> its actor, monitored) and whether it
// watches the room list.
struct joined_room {
  room_actor room;  // null while a room that died is being joined again
  std::string display_name;
};
struct rooms_part {
  std::unordered_map<std::string, joined_room> joined;
  // Joins on their way: the room sends room_joined before the session hears back, so a client's
  // next message about that room (leave, publish) waits here until it has (bounded by
  // max_held_messages), instead of being refused as coming from a non-member.
  std::unordered_map<std::string, std::vector<codec::client_message>> joining;
  bool watching = false;
};

// The channels part: the channels the session is subscribed to (by wire name), each with its
// registry key and the actor serving it (monitored: one that dies is subscribed to again).
struct subscription_entry {
  std::string key;
  caf::actor_addr channel;
};
struct channels_part {
  std::unordered_map<std::string, subscription_entry> subscribed;
  std::string endpoint_channel;  // see session_start
  std::optional<std::int64_t> endpoint_since;
  std::string endpoint_chat;  // the chat of /ws/messages/{chat}: message, typing, ... may omit chat_id
};

struct session_state {
  session_deps deps;
  std::shared_ptr<outbox> out = std::make_shared<outbox>();
  link_id link = 0;  // the connection carrying the session; messages from any other are stale
  phase state = phase::authenticating;

  std::string session_id, user_id, resume_token;
  std::string user_name;  // the token's `name`: the default display name in rooms
  // A guest's last application message and the last one storage heard of (unix ms): see
  // report_guest_activity.
  bool guest = false;
  std::int64_t guest_active_ms = 0, guest_reported_ms = 0;
  std::string detach_reason = "closed";  // session_closed reason if the resume window passes
  std::int64_t window_ms = -1;           // a restored session's own window; -1: resume_window_ms

  std::vector<codec::client_message> held;  // arrived while opening (a vector: empty costs nothing)
  boost::json::value connect_ref;           // echoed on `connected` when it answers a `connect`
  bool leaving = false;                     // `before_disconnect` received: the close ends it, no window
  std::string end_reason = "left";          // why its rooms were left (leave_all_rooms)
  bool link_closed_while_opening = false;
  bool closed_by_server = false;
  bool resuming = false;            // opening by resuming another session: the link is on hold
  session_actor resume_owner;       // while resuming: the session's actor, asked once `held` arrives
  std::int64_t queue_position = 0;  // > 0 while waiting for a place

  std::optional<rate_limiter> limiter;  // created with the actor (needs the clock)
  int bad_frames = 0;
  int missed_pings = 0;
  caf::actor_clock::time_point last_activity;      // any frame: stale sweep
  caf::actor_clock::time_point last_app_activity;  // application messages: idle timeout
  std::uint64_t heartbeat_gen = 0;
  std::uint64_t window_gen = 0;
  bool idle_timer_pending = false;

  files_part files;
  rooms_part rooms;
  channels_part channels;

  static inline const char* name = "session";
};

using session_self = session_actor::stateful_pointer<session_state>;

// §1: the 20th bad frame in a row still gets its error, then the connection closes (1008). Fixed
// by the protocol, not a tuning knob.
constexpr int max_bad_frames = 20;
// Messages that arrive while a session is being opened (a storage round trip, or a resume) wait;
// past this many they are refused with rate_limited. Not an option: limits.burst already bounds
// how many a client can send in that time, this only keeps a misconfigured burst from holding more.
constexpr std::size_t max_held_messages = 256;
// Rooms one session may be in at once: every room holds a handle to the session and the session
// monitors each; a client needing more rooms than this is misusing rooms as channels. Fixed, with
// room to spare for any real page (a call, a few study rooms).
constexpr std::size_t max_rooms_per_session = 256;

// Random bytes in server-made ids (hex on the wire). A session id is shown to others (rooms), so it
// must not be guessable: 96 bits. A resume token is a bearer secret: 192 bits, like a session
// cookie. Fixed: the wire format promises nothing about their length, but nothing needs to tune them.
constexpr std::size_t session_id_bytes = 12;
constexpr std::size_t resume_token_bytes = 24;

// ---- the lifecycle part (session_lifecycle.cpp) ----

void start_session(session_self self, session_start start);
void on_client_message(session_self self, codec::client_message& m);
void on_decode_error(session_self self, const codec::decode_error& e);
void on_activity(session_self self);
void on_queued(session_self self, std::int64_t position);
void on_sweep(session_self self);
caf::result<bool> on_shutdown(session_self self);

inline const settings& cfg(session_self self) { return *self->state.deps.cfg; }
inline caf::actor_clock::time_point now(session_self self) { return self->clock().now(); }

template <class Message>
void reply(session_self self, const Message& m) {
  self->state.out->send(codec::encode(m));
}
void send_error(session_self self, codec::err code, std::string_view message, const boost::json::value& ref);

// Every way a session ends goes through here (close_code 0: 1000).
void end_session(session_self self, const std::string& reason, std::uint16_t close_code = 0,
                 const std::string& close_text = {});
// The session is open on its current link: `connected`, heartbeat, idle check, held messages.
void became_open(session_self self, bool resumed);
// Opens a new session (asks the directory for a place first).
void open_fresh(session_self self);
void on_link_closed(session_self self, std::uint16_t code, bool by_server);
// Tells storage of a guest's activity: throttled while the session is open (final = false, called
// per application message), and whatever is untold when the session lets go of its link (final).
void report_guest_activity(session_self self, bool final);
void on_open_message(session_self self, codec::client_message& m);
// True once end_session ran: replies that arrive later are ignored (the end wins).
inline bool ended(session_self self) { return self->state.state == phase::ending; }

// ---- resume (session_resume.cpp) ----

// The connection's actor, authenticated with a resume token: take the session over, or open fresh.
void begin_resume(session_self self, const std::string& resume_token);
void on_held(session_self self);
caf::result<bool> on_attach(session_self self, attach_request& req);

// ---- rooms (session_rooms.cpp) ----

void on_message(session_self self, const codec::join_room_msg& m);
void on_message(session_self self, const codec::leave_room_msg& m);
void on_message(session_self self, const codec::publish_msg& m);
void on_message(session_self self, const codec::watch_rooms_msg& m);
void on_message(session_self self, const codec::unwatch_rooms_msg& m);
// Another session of the same user took this one's place in a room (duplicate policy "switch").
void on_switched(session_self self, const std::string& room_id, const std::string& by_session);
// A monitored actor went down: true when it was one of the session's rooms.
bool on_room_down(session_self self, const caf::down_msg& msg);
// A session restored after a restart: back into the rooms it had places in.
void rejoin_places(session_self self, const std::vector<room_place>& places);
// After a resume: every room sends the session its current state again (room_joined).
void refresh_rooms(session_self self);
// The session ended with `end_reason`: leave every room (the others see it as §6 says).
void leave_all_rooms(session_self self, const std::string& end_reason);

// ---- files (session_files.cpp) ----

void on_message(session_self self, const codec::register_msg& m);
void on_message(session_self self, const codec::file_uploaded_msg& m);
void on_message(session_self self, const codec::file_removed_msg& m);
void on_message(session_self self, const codec::post_submitted_msg& m);

// ---- channels (session_channels.cpp) ----

void on_message(session_self self, const codec::subscribe_msg& m);
void on_message(session_self self, const codec::unsubscribe_msg& m);
void on_message(session_self self, const codec::chat_message_msg& m);
void on_message(session_self self, const codec::message_read_msg& m);
void on_message(session_self self, const codec::typing_msg& m);
void on_message(session_self self, const codec::history_msg& m);
// Right after `connected` of a fresh session: the endpoint's channel (a refused chat endpoint
// closes with 4003).
void subscribe_endpoint(session_self self);
// The connection dropped (the window runs) / a resume bound a new one: the channels stop sending,
// then replay what it missed (and presence is sent again).
void lag_channels(session_self self);
// A session restored after a restart: back into the channels it was subscribed to.
void resubscribe_restored(session_self self, const std::vector<channel_place>& channels);
void catch_up_channels(session_self self);
// The session ended, or left (before_disconnect): out of every channel.
void leave_all_channels(session_self self);
// A monitored actor went down: true when it served one of the session's channels.
bool on_channel_down(session_self self, const caf::down_msg& msg);

}  // namespace tether
