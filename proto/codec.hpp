#pragma once
// JSON <-> typed protocol messages (PROTOCOL.md §1, §5, §11). Pure code: no sockets, no actors.
#include "proto/frame.hpp"

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tether::codec {

// The error codes of PROTOCOL.md §1, in wire spelling via to_string().
enum class err {
  bad_json, unsupported_frame, unknown_type, invalid_field, unauthorized, forbidden,
  not_found, rate_limited, room_full, capacity, conflict, too_large, internal
};
const char* to_string(err code);

// Client message types this server implements.
enum class msg_type {
  connect, register_files, file_uploaded, file_removed, post_submitted, ping, before_disconnect
};
const char* to_string(msg_type type);

// A decoded, validated client message. Fields not used by `type` are left empty.
struct client_message {
  msg_type type = msg_type::ping;
  boost::json::value ref;  // null when absent; otherwise a string or an integer, echoed as is
  std::optional<std::string> token;
  std::optional<std::string> resume_token;
  std::optional<std::string> user_id;
  std::optional<std::string> file_id;
  std::optional<std::string> post_id;
  std::optional<std::string> draft_id;
  std::optional<std::vector<std::string>> file_ids;
};

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

// Server messages: serialize once and wrap in a WebSocket text frame.
frame to_frame(const boost::json::object& message);
frame error_frame(err code, std::string_view message, const boost::json::value& ref);

}  // namespace tether::codec
