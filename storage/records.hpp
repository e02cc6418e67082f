#pragma once
// Plain rows exchanged with the database (and, through the storage actor, with other actors).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tether {

struct file_record {
  std::string file_id;
  std::string user_id;
  std::string name;
  std::int64_t size = 0;
  std::string state;  // active | kept | queued | deleted | failed
  bool external = false;
};

// A session's place in a room, as stored (room_places).
struct room_place {
  std::string room_id;
  std::string display_name;
  std::int64_t joined_ms = 0;
};

// A session that was open or inside its resume window when the server stopped.
// A session's subscription to a channel, as stored (session_channels): last_id -1 when not known.
struct channel_place {
  std::string channel;
  std::int64_t last_id = -1;
};

struct persisted_session {
  std::string session_id;
  std::string user_id;
  std::string resume_token;
  std::string pending_reason;  // the session_closed reason if its window passes: crash | shutdown | closed
  bool guest = false;
  std::vector<std::string> files;
  std::vector<room_place> rooms;
  std::vector<channel_place> channels;
  // How long it waits for a resume, counted from the restart (set by recovery: the restart
  // window for `shutdown`, the resume window for `crash`); -1: session.resume_window_ms.
  std::int64_t window_ms = -1;
};

// The windows recovery gives the sessions it finds (PROTOCOL.md §11 "Session life"): a session
// persisted at SIGTERM (pending reason "shutdown") gets the restart window, any other (open at a
// crash, or already dropped before the stop) the resume window. The defaults only mirror the
// options' (session.resume_window_ms, session.restart_window_ms); the supervisor passes the settings.
struct recovery_windows {
  std::int64_t resume_ms = 5000;
  std::int64_t restart_ms = 60000;  // 0: the same as resume_ms

  std::int64_t for_reason(const std::string& pending_reason) const {
    if (pending_reason == "shutdown" && restart_ms > 0) return restart_ms;
    return resume_ms;
  }
};

struct deletion_job {
  std::string file_id;
  std::int64_t attempts = 0;
};

enum class track_outcome { tracked, not_found, forbidden };

struct track_result {
  std::vector<std::string> tracked;                                  // everything the session tracks now
  std::vector<std::pair<std::string, track_outcome>> rejected;       // refused ids, in request order
};

struct audit_record {
  std::int64_t id = 0;
  std::string at, event, session_id, user_id, file_id, reason, details;
};

struct audit_query {
  std::optional<std::string> session_id, file_id, user_id;
  std::int64_t limit = 100;  // GET /api/audit and `tetherd audit` without a limit
};

struct failed_deletion {
  std::string file_id;
  std::int64_t attempts = 0;
  std::string last_error;
};

struct cleanup_stats {
  std::int64_t queued = 0;
  std::int64_t done_total = 0;
  std::int64_t failed_total = 0;
  std::vector<failed_deletion> failed;
};

// A stored chat message (chat_messages), as new_message and history carry it.
struct chat_message {
  std::string chat_id;
  std::int64_t message_id = 0;
  std::string sender_id;
  std::string content;
  std::string attachment;     // JSON text; empty: none
  std::string client_msg_id;  // empty: none
  std::int64_t sent_ms = 0;
};

// duplicate: the sender had already sent this client_msg_id to this chat; `message` is that one.
struct append_result {
  chat_message message;
  bool duplicate = false;
};

struct history_page {
  std::vector<chat_message> messages;  // ascending message_id
  bool has_more = false;               // older messages exist before the first one
};

// found = false: no such message in that chat. first: this call recorded the read (a repeat
// returns the first read's time and first = false).
struct read_receipt {
  bool found = false;
  bool first = false;
  std::string sender_id;
  std::int64_t read_ms = 0;
};

// What a chat's channel needs to know of it: whether it exists (a dm:{a}:{b} chat always does),
// its members, and its last message id.
struct chat_info {
  bool exists = false;
  std::vector<std::string> members;
  std::int64_t last_id = 0;
};

// Several stored messages (a replay page).
struct message_list {
  std::vector<chat_message> messages;
};

// A notification or connection event kept for a user (notifications), replayable by id.
struct stored_notification {
  std::int64_t id = 0;
  std::string user_id;
  std::string stream;   // notifications | connections
  std::string payload;  // the JSON object sent, without its id
  std::int64_t created_ms = 0;
};

// Several notifications: to store (id and created_ms unset), or stored / replayed.
struct note_list {
  std::vector<stored_notification> notes;
};

// Retry policy of the deletion queue: cleanup.max_attempts, retry_base_ms and retry_max_ms (these
// defaults only mirror the options').
struct retry_policy {
  std::int64_t max_attempts = 8;
  std::int64_t base_ms = 1000;
  std::int64_t max_ms = 300000;
};

// Webhooks (webhooks.* options; these defaults only mirror them).
struct webhook_policy {
  std::int64_t max_attempts = 15;
  std::int64_t base_ms = 1000;
  std::int64_t max_ms = 300000;
  std::int64_t max_pending = 100000;
};

// An event of the outbox, as it goes out: `body` is signed and sent byte for byte on every try.
struct webhook_event {
  std::int64_t seq = 0;
  std::string body;
  std::int64_t attempts = 0;
};

struct webhook_stats {
  std::int64_t pending = 0;
  std::int64_t failed = 0;
};

}  // namespace tether
