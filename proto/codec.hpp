#pragma once
// JSON <-> typed protocol messages (PROTOCOL.md §1, §5, §11). Pure code: no sockets, no actors.
// Client messages: proto/client_messages.hpp; server messages: proto/server_messages.hpp.
#include "proto/client_messages.hpp"
#include "proto/frame.hpp"
#include "proto/server_messages.hpp"

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tether::codec {

// Why a frame was refused; `counts_as_bad_frame` follows §11 (bad_json, unsupported_frame,
// unknown_type, invalid_field count toward the 20-in-a-row rule).
struct decode_error {
  err code = err::bad_json;
  std::string message;
  boost::json::value ref;  // echoed when the frame had a readable ref
  std::string field;       // the offending field, when there is one
};
bool counts_as_bad_frame(err code);

using decoded = std::variant<client_message, decode_error>;

// Decodes one text message (already reassembled and UTF-8 checked).
decoded decode(std::string_view text);
// The reply to a binary frame.
decode_error binary_frame_error();

// Id rules of §11.
bool valid_id(std::string_view s);       // room_id, post_id, draft_id, client_msg_id, file_id
bool valid_user_id(std::string_view s);  // like valid_id, without ':'
bool valid_display_name(std::string_view s);  // 1-128 bytes, no control characters
bool valid_chat_id(std::string_view s);       // 1-300 bytes of the id characters
bool valid_channel(std::string_view s);       // messages/{chat_id}, feed, online, notifications, connections

// Serializes once and wraps in a WebSocket text frame (used by the encoders of
// proto/server_messages.hpp; actors never build JSON).
frame to_frame(const boost::json::object& message);

}  // namespace tether::codec
