#pragma once
// What the server sends for channels, chat, notifications and presence (PROTOCOL.md §7, §11
// "Channels"): one struct per message, encoded once into a shared frame. Kept apart from
// server_messages.hpp so that the rooms and files parts do not depend on it.
#include "proto/frame.hpp"
#include "storage/records.hpp"  // plain row structs only: what new_message and notifications carry

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace tether::codec {

struct subscribed {
  std::string channel;
  boost::json::value ref;
};
struct unsubscribed {
  std::string channel;
  boost::json::value ref;
};
struct message_delivered {
  std::int64_t message_id = 0;
  std::string chat_id, user_id;  // user_id: the recipient it reached
};
// To the sender: a recipient read its message.
struct message_read_receipt {
  std::int64_t message_id = 0;
  std::string chat_id, user_id;  // user_id: the reader
  std::int64_t read_ms = 0;
};
struct ack_message_read {
  std::string chat_id;
  std::int64_t message_id = 0;
  boost::json::value ref;
};
struct typing_event {
  std::string chat_id, user_id;
  bool is_typing = false;
};
struct history_reply {
  std::string chat_id;
  const history_page* page = nullptr;
  boost::json::value ref;
};
struct present_user {
  std::string user_id, full_name;
};
struct presence {
  std::vector<present_user> users;
  boost::json::value ref;
};
struct user_online {
  std::string user_id, full_name;
};
struct user_offline {
  std::string user_id;
};

// new_message (a stored chat message: live, replayed, or the answer to a resent client_msg_id).
frame encode(const chat_message& m);
boost::json::object to_json(const chat_message& m);
// A stored notification or connection event: its payload (a JSON object with its `type`) with
// the stored `id` put right after the type.
frame encode(const stored_notification& n);
frame encode(const subscribed& m);
frame encode(const unsubscribed& m);
frame encode(const message_delivered& m);
frame encode(const message_read_receipt& m);
frame encode(const ack_message_read& m);
frame encode(const typing_event& m);
frame encode(const history_reply& m);
frame encode(const presence& m);
frame encode(const user_online& m);
frame encode(const user_offline& m);
// Any server event built by the caller (feed events, channel_message): `o` holds its `type`.
frame encode_event(const boost::json::object& o);

}  // namespace tether::codec
