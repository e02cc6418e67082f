// Channel messages -> shared WebSocket frames (proto/channel_messages.hpp).
#include "proto/channel_messages.hpp"

#include "proto/clock.hpp"
#include "proto/codec.hpp"

#include <boost/json.hpp>

namespace tether::codec {
namespace json = boost::json;

namespace {

frame finish(json::object& o, const json::value& ref) {
  if (!ref.is_null()) o["ref"] = ref;
  return to_frame(o);
}

// Stored JSON text (an attachment, a notification's payload), or null when empty or unreadable:
// storage only holds what the codec or the HTTP API serialized, so unreadable means corrupted.
json::value parse_stored(const std::string& text) {
  if (text.empty()) return nullptr;
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  return ec ? json::value(nullptr) : v;
}

}  // namespace

json::object to_json(const chat_message& m) {
  json::object o;
  o.reserve(8);
  o.emplace("type", "new_message");
  o.emplace("message_id", m.message_id);
  o.emplace("chat_id", m.chat_id);
  o.emplace("sender_id", m.sender_id);
  o.emplace("content", m.content);
  o.emplace("attachment", parse_stored(m.attachment));
  o.emplace("client_msg_id", m.client_msg_id.empty() ? json::value(nullptr) : json::value(m.client_msg_id));
  o.emplace("timestamp", iso8601_from_ms(m.sent_ms));
  return o;
}

frame encode(const chat_message& m) { return to_frame(to_json(m)); }

frame encode(const stored_notification& n) {
  auto payload = parse_stored(n.payload);
  json::object o;
  if (auto* p = payload.if_object()) {
    o.reserve(p->size() + 1);
    if (auto* t = p->if_contains("type")) o.emplace("type", *t);
    o.emplace("id", n.id);
    for (auto& [k, v] : *p)
      if (k != "type" && k != "id") o.emplace(k, v);
  } else {
    o.emplace("type", "notification");
    o.emplace("id", n.id);
  }
  return to_frame(o);
}

frame encode(const subscribed& m) {
  json::object o{{"type", "subscribed"}, {"channel", m.channel}};
  return finish(o, m.ref);
}

frame encode(const unsubscribed& m) {
  json::object o{{"type", "unsubscribed"}, {"channel", m.channel}};
  return finish(o, m.ref);
}

frame encode(const message_delivered& m) {
  return to_frame(json::object{
      {"type", "message_delivered"}, {"message_id", m.message_id}, {"chat_id", m.chat_id}, {"user_id", m.user_id}});
}

frame encode(const message_read_receipt& m) {
  return to_frame(json::object{{"type", "message_read"},
                               {"message_id", m.message_id},
                               {"chat_id", m.chat_id},
                               {"user_id", m.user_id},
                               {"read_at", iso8601_from_ms(m.read_ms)}});
}

frame encode(const ack_message_read& m) {
  json::object o{{"type", "ack"}, {"for", "message_read"}, {"chat_id", m.chat_id}, {"message_id", m.message_id}};
  return finish(o, m.ref);
}

frame encode(const typing_event& m) {
  return to_frame(json::object{
      {"type", "typing"}, {"chat_id", m.chat_id}, {"user_id", m.user_id}, {"is_typing", m.is_typing}});
}

frame encode(const history_reply& m) {
  json::array messages;
  if (m.page) {
    messages.reserve(m.page->messages.size());
    for (const auto& msg : m.page->messages) messages.push_back(to_json(msg));
  }
  json::object o{{"type", "history"},
                 {"chat_id", m.chat_id},
                 {"messages", std::move(messages)},
                 {"has_more", m.page && m.page->has_more}};
  return finish(o, m.ref);
}

frame encode(const presence& m) {
  json::array users;
  users.reserve(m.users.size());
  for (const auto& u : m.users) users.push_back(json::object{{"user_id", u.user_id}, {"full_name", u.full_name}});
  json::object o{{"type", "presence"}, {"users", std::move(users)}};
  return finish(o, m.ref);
}

frame encode(const user_online& m) {
  return to_frame(json::object{{"type", "user_online"}, {"user_id", m.user_id}, {"full_name", m.full_name}});
}

frame encode(const user_offline& m) { return to_frame(json::object{{"type", "user_offline"}, {"user_id", m.user_id}}); }

frame encode_event(const json::object& o) { return to_frame(o); }

}  // namespace tether::codec
