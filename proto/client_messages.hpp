#pragma once
// What a client may send (PROTOCOL.md §3–§5, §11): one struct per message type, one variant over
// all of them. A struct holds only the fields its type uses, already validated by the codec, so
// a handler never checks for fields that cannot be there. Rooms and channels add their types here.
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace tether::codec {

// Every message may carry a `ref`: null when absent, otherwise a string or an integer, echoed as is.
struct message_base {
  boost::json::value ref;
};

// connect {token?, resume_token?, user_id?}: authenticates a connection (and may resume).
struct connect_msg : message_base {
  std::optional<std::string> token;
  std::optional<std::string> resume_token;
  std::optional<std::string> user_id;
};

// register {file_ids?, draft_id?, user_id?, token?, resume_token?}: tracks files; before
// authentication it authenticates too (the seed clients' first message).
struct register_msg : message_base {
  std::optional<std::string> user_id;
  std::vector<std::string> file_ids;  // duplicates removed, first occurrence kept
  std::optional<std::string> draft_id;
  std::optional<std::string> token;
  std::optional<std::string> resume_token;
};

struct file_uploaded_msg : message_base {
  std::string file_id;
};

struct file_removed_msg : message_base {
  std::string file_id;
};

struct post_submitted_msg : message_base {
  std::optional<std::string> post_id;
};

struct ping_msg : message_base {};

struct before_disconnect_msg : message_base {};

// Rooms (§6).
struct join_room_msg : message_base {
  std::string room_id;
  std::optional<std::string> display_name;  // 1-128 bytes, no control characters
};

struct leave_room_msg : message_base {
  std::string room_id;
};

struct publish_msg : message_base {
  std::string room_id;
  boost::json::value data;  // any JSON value but null; broadcast as is
};

struct watch_rooms_msg : message_base {};

struct unwatch_rooms_msg : message_base {};

// Channels (§7). A channel is "messages/{chat_id}", "feed", "online", "notifications" or
// "connections" (the codec refuses anything else). chat_id is optional where the connection's
// endpoint names the chat (/ws/messages/{chat_id}): empty then.
struct subscribe_msg : message_base {
  std::string channel;
  std::optional<std::int64_t> since_id;  // >= 0; replay what came after it
};

struct unsubscribe_msg : message_base {
  std::string channel;
};

struct chat_message_msg : message_base {  // `message`
  std::string chat_id;
  std::string content;                    // byte limit (chat.max_content_bytes) checked by the session
  boost::json::value attachment;          // any JSON value; null when absent
  std::optional<std::string> client_msg_id;
};

struct message_read_msg : message_base {
  std::string chat_id;
  std::int64_t message_id = 0;  // >= 1
};

struct typing_msg : message_base {
  std::string chat_id;
  bool is_typing = true;
};

struct history_msg : message_base {
  std::string chat_id;
  std::optional<std::int64_t> before_id;  // >= 1
  std::int64_t limit = 50;                // 1..200 (more is clamped to 200)
};

using client_message = std::variant<connect_msg, register_msg, file_uploaded_msg, file_removed_msg,
                                    post_submitted_msg, ping_msg, before_disconnect_msg, join_room_msg,
                                    leave_room_msg, publish_msg, watch_rooms_msg, unwatch_rooms_msg,
                                    subscribe_msg, unsubscribe_msg, chat_message_msg, message_read_msg,
                                    typing_msg, history_msg>;

// The wire name of a message's type ("register" for register_msg).
const char* type_name(const client_message& m);

inline const boost::json::value& ref_of(const client_message& m) {
  return std::visit([](const message_base& b) -> const boost::json::value& { return b.ref; }, m);
}

}  // namespace tether::codec
