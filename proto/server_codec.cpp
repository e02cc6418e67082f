// Server messages -> shared WebSocket frames (proto/server_messages.hpp). The one place that
// knows the wire spelling of what the server sends.
#include "proto/codec.hpp"

namespace tether::codec {
namespace json = boost::json;

namespace {

json::array to_json(const std::vector<std::string>& ids) {
  json::array a;
  a.reserve(ids.size());
  for (const auto& id : ids) a.emplace_back(id);
  return a;
}

// `ref` goes last and only when the client sent one (§11: echoed as is).
frame finish(json::object& o, const json::value& ref) {
  if (!ref.is_null()) o["ref"] = ref;
  return to_frame(o);
}

json::object ack_of(const char* what) { return json::object{{"type", "ack"}, {"for", what}}; }

}  // namespace

const char* to_string(err code) {
  switch (code) {
    case err::bad_json: return "bad_json";
    case err::unsupported_frame: return "unsupported_frame";
    case err::unknown_type: return "unknown_type";
    case err::invalid_field: return "invalid_field";
    case err::unauthorized: return "unauthorized";
    case err::forbidden: return "forbidden";
    case err::not_found: return "not_found";
    case err::rate_limited: return "rate_limited";
    case err::room_full: return "room_full";
    case err::capacity: return "capacity";
    case err::conflict: return "conflict";
    case err::too_large: return "too_large";
    case err::internal: return "internal";
  }
  return "internal";
}

frame encode(const connected& m) {
  json::object o{{"type", "connected"},           {"session_id", m.session_id},
                 {"user_id", m.user_id},          {"resume_token", m.resume_token},
                 {"heartbeat_ms", m.heartbeat_ms}, {"resumed", m.resumed}};
  if (m.resumed) o["file_ids"] = to_json(m.file_ids);
  return finish(o, m.ref);
}

frame encode(const pong& m) {
  json::object o{{"type", "pong"}, {"server_time", m.server_time}};
  return finish(o, m.ref);
}

frame encode(const registered& m) {
  json::array rejected;
  rejected.reserve(m.rejected.size());
  for (const auto& r : m.rejected) rejected.push_back(json::object{{"file_id", r.file_id}, {"code", to_string(r.code)}});
  json::object o{{"type", "registered"},
                 {"session_id", m.session_id},
                 {"file_ids", to_json(m.file_ids)},
                 {"rejected", std::move(rejected)}};
  return finish(o, m.ref);
}

frame encode(const ack_file& m) {
  auto o = ack_of(m.what == file_change::uploaded ? "file_uploaded" : "file_removed");
  o["file_id"] = m.file_id;
  return finish(o, m.ref);
}

frame encode(const ack_post_submitted& m) {
  auto o = ack_of("post_submitted");
  o["kept"] = to_json(m.kept);
  o["post_id"] = m.post_id ? json::value(*m.post_id) : json::value(nullptr);
  return finish(o, m.ref);
}

frame encode(const ack_before_disconnect& m) {
  auto o = ack_of("before_disconnect");
  return finish(o, m.ref);
}

frame encode(const queued& m) { return to_frame(json::object{{"type", "queued"}, {"position", m.position}}); }

frame encode(const error& m) { return error_frame(m.code, m.message, m.ref); }

frame encode(const room_joined& m) {
  json::array people;
  people.reserve(m.participants.size());
  for (const auto& p : m.participants)
    people.push_back(json::object{{"user_id", p.user_id}, {"session_id", p.session_id},
                                  {"display_name", p.display_name}, {"joined_at", p.joined_at}});
  json::object o{{"type", "room_joined"},       {"room_id", m.room_id},    {"participants", std::move(people)},
                 {"occupancy", m.occupancy}, {"capacity", m.capacity}};
  return finish(o, m.ref);
}

frame encode(const user_joined& m) {
  return to_frame(json::object{
      {"type", "user_joined"}, {"room_id", m.room_id}, {"user_id", m.user_id}, {"display_name", m.display_name}});
}

frame encode(const room_left& m) {
  json::object o{{"type", "room_left"}, {"room_id", m.room_id}};
  return finish(o, m.ref);
}

frame encode(const user_left& m) {
  return to_frame(
      json::object{{"type", "user_left"}, {"room_id", m.room_id}, {"user_id", m.user_id}, {"reason", m.reason}});
}

frame encode(const room_message& m) {
  return to_frame(json::object{{"type", "room_message"}, {"room_id", m.room_id}, {"user_id", m.user_id}, {"data", m.data}});
}

frame encode(const session_switched& m) {
  return to_frame(json::object{{"type", "session_switched"}, {"room_id", m.room_id}, {"session_id", m.session_id}});
}

frame encode(const room_list& m) {
  json::array rooms;
  rooms.reserve(m.rooms.size());
  for (const auto& r : m.rooms)
    rooms.push_back(json::object{{"room_id", r.room_id}, {"occupancy", r.occupancy}, {"capacity", r.capacity}});
  json::object o{{"type", "room_list"}, {"rooms", std::move(rooms)}};
  return finish(o, m.ref);
}

frame encode(const room_occupancy_update& m) {
  return to_frame(json::object{{"type", "room_occupancy_update"}, {"room_id", m.room_id}, {"occupancy", m.occupancy}});
}

frame encode(const ack_unwatch_rooms& m) {
  auto o = ack_of("unwatch_rooms");
  return finish(o, m.ref);
}

frame error_frame(err code, std::string_view message, const json::value& ref) {
  // The bad-client path: built in a stack arena, no heap traffic but the frame itself.
  unsigned char buf[1024];
  json::monotonic_resource arena(buf, sizeof buf);
  json::object o{json::storage_ptr(&arena)};
  o.reserve(4);
  o.emplace("type", "error");
  o.emplace("code", to_string(code));
  o.emplace("message", json::string_view(message.data(), message.size()));
  if (!ref.is_null()) o.emplace("ref", ref);
  return to_frame(o);
}

}  // namespace tether::codec
