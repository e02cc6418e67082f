#pragma once
// What the server sends (PROTOCOL.md §1, §4, §5, §11): one struct per message, encoded once into
// a shared WebSocket frame by `encode`. Actors fill structs; only the codec writes JSON, so the
// wire spelling of every field lives in one place (proto/server_codec.cpp).
#include "proto/frame.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tether::codec {

// The error codes of PROTOCOL.md §1, in wire spelling via to_string().
enum class err {
  bad_json, unsupported_frame, unknown_type, invalid_field, unauthorized, forbidden,
  not_found, rate_limited, room_full, capacity, conflict, too_large, internal
};
const char* to_string(err code);

struct connected {
  std::string session_id, user_id, resume_token;
  std::int64_t heartbeat_ms = 0;
  bool resumed = false;
  std::vector<std::string> file_ids;  // sent only when resumed (the files it still tracks)
  boost::json::value ref;             // the `connect` it answers, if any
};

struct pong {
  std::string server_time;  // ISO 8601, UTC, milliseconds
  boost::json::value ref;
};

struct rejected_file {
  std::string file_id;
  err code = err::not_found;  // forbidden or not_found
};

struct registered {
  std::string session_id;
  std::vector<std::string> file_ids;  // what the session tracks now
  std::vector<rejected_file> rejected;
  boost::json::value ref;
};

// ack {for, ...}: the fields that follow depend on what it acknowledges.
enum class file_change { uploaded, removed };  // for: file_uploaded / file_removed
struct ack_file {
  file_change what = file_change::uploaded;
  std::string file_id;
  boost::json::value ref;
};
struct ack_post_submitted {
  std::vector<std::string> kept;
  std::optional<std::string> post_id;  // null on the wire when absent
  boost::json::value ref;
};
struct ack_before_disconnect {
  boost::json::value ref;
};

struct queued {
  std::int64_t position = 0;  // 1-based place in the admission queue
};

struct error {
  err code = err::internal;
  std::string message;
  boost::json::value ref;
};

// ---- rooms (§6) ----

struct participant {
  std::string user_id, session_id, display_name, joined_at;  // joined_at: ISO 8601
};

struct room_joined {
  std::string room_id;
  std::vector<participant> participants;  // the joiner included
  std::int64_t occupancy = 0;             // distinct users
  std::int64_t capacity = 0;
  boost::json::value ref;
};
struct user_joined {
  std::string room_id, user_id, display_name;
};
struct room_left {
  std::string room_id;
  boost::json::value ref;
};
struct user_left {
  std::string room_id, user_id, reason;  // left, disconnected, timeout, stale, idle, inactive
};
struct room_message {
  std::string room_id, user_id;
  boost::json::value data;
};
struct session_switched {
  std::string room_id, session_id;  // the session that took the place
};
struct room_summary {
  std::string room_id;
  std::int64_t occupancy = 0, capacity = 0;
};
struct room_list {
  std::vector<room_summary> rooms;
  boost::json::value ref;
};
struct room_occupancy_update {
  std::string room_id;
  std::int64_t occupancy = 0;
};
struct ack_unwatch_rooms {
  boost::json::value ref;
};

frame encode(const connected& m);
frame encode(const pong& m);
frame encode(const registered& m);
frame encode(const ack_file& m);
frame encode(const ack_post_submitted& m);
frame encode(const ack_before_disconnect& m);
frame encode(const queued& m);
frame encode(const error& m);
frame encode(const room_joined& m);
frame encode(const user_joined& m);
frame encode(const room_left& m);
frame encode(const user_left& m);
frame encode(const room_message& m);
frame encode(const session_switched& m);
frame encode(const room_list& m);
frame encode(const room_occupancy_update& m);
frame encode(const ack_unwatch_rooms& m);
// The same as encode(error{...}), without building the struct (the bad-client path).
frame error_frame(err code, std::string_view message, const boost::json::value& ref);

}  // namespace tether::codec
