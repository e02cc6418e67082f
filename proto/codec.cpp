// JSON <-> typed protocol messages (PROTOCOL.md §1, §5, §11).
//
// decode() is on the hot path (one call per client message), so it parses into a monotonic
// arena backed by a stack buffer (no heap traffic for ordinary messages), looks fields up in
// place, and copies out only the strings the typed message keeps.
#include "proto/codec.hpp"

#include "proto/ws_frame.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstddef>
#include <memory>
#include <unordered_set>
#include <utility>

namespace tether::codec {
namespace json = boost::json;

namespace {

// ---- limits of §11 ------------------------------------------------------------------------
constexpr std::size_t max_id_bytes = 128;
constexpr std::size_t max_token_bytes = 8192;
constexpr std::size_t max_file_ids = 1000;
// A display name: long enough for any real name, short enough to list 50 participants cheaply.
constexpr std::size_t max_text_bytes = 128;
// Longest piece of a client-chosen type name quoted back in an error message.
constexpr std::size_t max_quoted_type_bytes = 64;
// Arena for one parsed message: covers typical control messages and registers of a few dozen
// ids without touching the heap; larger messages spill to the default resource.
constexpr std::size_t arena_bytes = 4096;

constexpr char id_rule[] = "1-128 characters of [A-Za-z0-9_.:@-]";
constexpr std::size_t max_chat_id_bytes = 300;
constexpr char chat_id_rule[] = "1-300 characters of [A-Za-z0-9_.:@-]";
constexpr char channel_rule[] = "messages/{chat_id}, feed, online, notifications or connections";
// history: 50 unless asked, never more than 200 (§7, §11).
constexpr std::int64_t default_history = 50;
constexpr std::int64_t max_history = 200;
constexpr char user_id_rule[] = "1-128 characters of [A-Za-z0-9_.@-]";

// Character classes: bit 1 = allowed in an id, bit 2 = allowed in a user id.
constexpr std::array<unsigned char, 256> make_id_table() {
  std::array<unsigned char, 256> t{};
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = 3;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = 3;
  for (int c = '0'; c <= '9'; ++c) t[c] = 3;
  t['_'] = t['.'] = t['@'] = t['-'] = 3;
  t[':'] = 1;
  return t;
}
constexpr std::array<unsigned char, 256> id_table = make_id_table();

bool valid_chars(std::string_view s, unsigned char mask) {
  if (s.empty() || s.size() > max_id_bytes) return false;
  for (char c : s)
    if (!(id_table[static_cast<unsigned char>(c)] & mask)) return false;
  return true;
}

// ---- field access -------------------------------------------------------------------------

std::string_view as_view(const json::string& s) { return {s.data(), s.size()}; }

// A prefix of `s` of at most `max` bytes that does not end inside a UTF-8 sequence (the input
// is valid UTF-8; the error we build from it must stay valid UTF-8).
std::string_view utf8_prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// The value of `name` (or of its camelCase alias), or nullptr when absent or null.
// The snake_case spelling wins when both are present.
const json::value* find(const json::object& obj, json::string_view name,
                        json::string_view alias = {}) {
  if (auto it = obj.find(name); it != obj.end() && !it->value().is_null()) return &it->value();
  if (!alias.empty())
    if (auto it = obj.find(alias); it != obj.end() && !it->value().is_null()) return &it->value();
  return nullptr;
}

// Reads typed fields out of one message object, keeping the first error. Once an error is
// recorded, later reads do nothing (no exceptions on the bad-client path).
class field_reader {
public:
  explicit field_reader(const json::object& obj) : obj_(obj) {}

  bool failed() const { return field_ != nullptr; }
  const char* field() const { return field_; }
  std::string& message() { return message_; }

  // An id of §11: valid_user_id for user ids, valid_id otherwise.
  std::optional<std::string> id(const char* name, json::string_view alias, bool user, bool required) {
    if (failed()) return std::nullopt;
    const json::value* v = find(obj_, name, alias);
    const char* rule = user ? user_id_rule : id_rule;
    if (!v) {
      if (required) fail(name, " is required");
      return std::nullopt;
    }
    const json::string* s = v->if_string();
    if (!s) return fail(name, " must be a string of ", rule);
    std::string_view sv = as_view(*s);
    if (!(user ? valid_user_id(sv) : valid_id(sv))) return fail(name, " must be ", rule);
    return std::string(sv);
  }

  std::optional<std::string> token(const char* name) {
    if (failed()) return std::nullopt;
    const json::value* v = find(obj_, name);
    if (!v) return std::nullopt;
    const json::string* s = v->if_string();
    if (!s || s->empty() || s->size() > max_token_bytes)
      return fail(name, " must be a non-empty string of at most 8192 bytes");
    return std::string(as_view(*s));
  }

  // file_ids: an array of at most 1000 valid ids (counted as sent); duplicates are dropped,
  // the first occurrence keeps its place.
  std::optional<std::vector<std::string>> file_ids() {
    if (failed()) return std::nullopt;
    const json::value* v = find(obj_, "file_ids", "fileIds");
    if (!v) return std::nullopt;
    const json::array* arr = v->if_array();
    if (!arr) {
      fail("file_ids", " must be an array of file ids (", id_rule);
      message_ += ')';
      return std::nullopt;
    }
    if (arr->size() > max_file_ids) return fail("file_ids", " may hold at most 1000 ids");
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const json::string* s = (*arr)[i].if_string();
      if (!s || !valid_id(as_view(*s))) {
        field_ = "file_ids";
        message_ = "file_ids[" + std::to_string(i) + "] must be " + id_rule;
        return std::nullopt;
      }
    }

    std::vector<std::string> out;
    out.reserve(arr->size());
    constexpr std::size_t linear_limit = 16;  // small lists: a scan beats hashing
    if (arr->size() <= linear_limit) {
      for (const json::value& e : *arr) {
        std::string_view id = as_view(e.get_string());
        bool seen = false;
        for (const std::string& have : out)
          if (have == id) { seen = true; break; }
        if (!seen) out.emplace_back(id);
      }
    } else {
      std::unordered_set<std::string_view> seen;
      seen.reserve(arr->size());
      for (const json::value& e : *arr) {
        std::string_view id = as_view(e.get_string());
        if (seen.insert(id).second) out.emplace_back(id);
      }
    }
    return out;
  }

  // Free text shown to others (display names): 1-128 bytes of valid UTF-8 (the frame is checked
  // already) without control characters, which would only serve to garble someone's screen.
  std::optional<std::string> text(const char* name, json::string_view alias) {
    if (failed()) return std::nullopt;
    const json::value* v = find(obj_, name, alias);
    if (!v) return std::nullopt;
    const json::string* s = v->if_string();
    if (!s || !valid_display_name(as_view(*s)))
      return fail(name, " must be a string of 1-128 bytes without control characters");
    return std::string(as_view(*s));
  }

  // chat_id of §11: up to 300 bytes of the id characters. Optional: the endpoint may name the chat.
  std::string chat_id() {
    if (failed()) return {};
    const json::value* v = find(obj_, "chat_id", "chatId");
    if (!v) return {};
    const json::string* s = v->if_string();
    if (!s || !valid_chat_id(as_view(*s))) {
      fail("chat_id", " must be ", chat_id_rule);
      return {};
    }
    return std::string(as_view(*s));
  }

  // A channel name: messages/{chat_id}, feed, online, notifications or connections.
  std::string channel() {
    if (failed()) return {};
    const json::value* v = find(obj_, "channel");
    const json::string* s = v ? v->if_string() : nullptr;
    if (!s || !valid_channel(as_view(*s))) {
      fail("channel", v ? " must be " : " is required: ", channel_rule);
      return {};
    }
    return std::string(as_view(*s));
  }

  // An integer in [min, max]; nullopt when absent.
  std::optional<std::int64_t> integer(const char* name, json::string_view alias, std::int64_t min, std::int64_t max,
                                      bool required = false) {
    if (failed()) return std::nullopt;
    const json::value* v = find(obj_, name, alias);
    if (!v) {
      if (required) fail(name, " is required");
      return std::nullopt;
    }
    std::int64_t n = 0;
    if (v->is_int64())
      n = v->get_int64();
    else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
      n = static_cast<std::int64_t>(v->get_uint64());
    else
      return fail(name, " must be an integer");
    if (n < min || n > max) return fail(name, " is out of range");
    return n;
  }

  std::optional<bool> boolean(const char* name, json::string_view alias) {
    if (failed()) return std::nullopt;
    const json::value* v = find(obj_, name, alias);
    if (!v) return std::nullopt;
    if (!v->is_bool()) return fail(name, " must be true or false");
    return v->get_bool();
  }

  // A string of any content (checked further by its handler); nullopt when absent.
  std::optional<std::string> string(const char* name, bool required) {
    if (failed()) return std::nullopt;
    const json::value* v = find(obj_, name);
    if (!v) {
      if (required) fail(name, " is required");
      return std::nullopt;
    }
    const json::string* s = v->if_string();
    if (!s) return fail(name, " must be a string");
    return std::string(as_view(*s));
  }

  // Any JSON value, copied out of the arena; null when absent.
  json::value optional_any(const char* name) {
    if (failed()) return nullptr;
    const json::value* v = find(obj_, name);
    return v ? json::value(*v, json::storage_ptr()) : json::value(nullptr);
  }

  // Any JSON value but null, copied out of the arena.
  json::value any(const char* name) {
    if (failed()) return nullptr;
    const json::value* v = find(obj_, name);
    if (!v) {
      fail(name, " is required");
      return nullptr;
    }
    return json::value(*v, json::storage_ptr());
  }

private:
  std::nullopt_t fail(const char* field, const char* what, const char* rule = "") {
    field_ = field;
    message_ = field;
    message_ += what;
    message_ += rule;
    return std::nullopt;
  }

  const json::object& obj_;
  const char* field_ = nullptr;
  std::string message_;
};

// ---- message types ------------------------------------------------------------------------

// Each reader takes the fields its type uses; fields of other types are ignored.
client_message read_connect(field_reader& r) {
  connect_msg m;
  m.token = r.token("token");
  m.resume_token = r.token("resume_token");
  m.user_id = r.id("user_id", "userId", /*user=*/true, /*required=*/false);
  return m;
}
client_message read_register(field_reader& r) {
  register_msg m;
  m.user_id = r.id("user_id", "userId", /*user=*/true, /*required=*/false);
  m.file_ids = r.file_ids().value_or(std::vector<std::string>{});
  m.draft_id = r.id("draft_id", {}, /*user=*/false, /*required=*/false);
  m.token = r.token("token");
  m.resume_token = r.token("resume_token");
  return m;
}
template <class Msg>
client_message read_file_id(field_reader& r) {
  Msg m;
  m.file_id = r.id("file_id", "fileId", /*user=*/false, /*required=*/true).value_or("");
  return m;
}
client_message read_post_submitted(field_reader& r) {
  post_submitted_msg m;
  m.post_id = r.id("post_id", "postId", /*user=*/false, /*required=*/false);
  return m;
}
template <class Msg>
client_message read_no_fields(field_reader&) {
  return Msg{};
}
std::string room_id_of(field_reader& r) {
  return r.id("room_id", "roomId", /*user=*/false, /*required=*/true).value_or("");
}
client_message read_join_room(field_reader& r) {
  join_room_msg m;
  m.room_id = room_id_of(r);
  m.display_name = r.text("display_name", "displayName");
  return m;
}
client_message read_leave_room(field_reader& r) {
  leave_room_msg m;
  m.room_id = room_id_of(r);
  return m;
}
client_message read_publish(field_reader& r) {
  publish_msg m;
  m.room_id = room_id_of(r);
  m.data = r.any("data");
  return m;
}

client_message read_subscribe(field_reader& r) {
  subscribe_msg m;
  m.channel = r.channel();
  m.since_id = r.integer("since_id", "sinceId", 0, INT64_MAX);
  return m;
}
client_message read_unsubscribe(field_reader& r) {
  unsubscribe_msg m;
  m.channel = r.channel();
  return m;
}
client_message read_chat_message(field_reader& r) {
  chat_message_msg m;
  m.chat_id = r.chat_id();
  m.content = r.string("content", /*required=*/true).value_or("");
  m.attachment = r.optional_any("attachment");
  m.client_msg_id = r.id("client_msg_id", "clientMsgId", /*user=*/false, /*required=*/false);
  return m;
}
client_message read_message_read(field_reader& r) {
  message_read_msg m;
  m.chat_id = r.chat_id();
  m.message_id = r.integer("message_id", "messageId", 1, INT64_MAX, /*required=*/true).value_or(0);
  return m;
}
client_message read_typing(field_reader& r) {
  typing_msg m;
  m.chat_id = r.chat_id();
  m.is_typing = r.boolean("is_typing", "isTyping").value_or(true);
  return m;
}
client_message read_history(field_reader& r) {
  history_msg m;
  m.chat_id = r.chat_id();
  m.before_id = r.integer("before_id", "beforeId", 1, INT64_MAX);
  // §11: a limit over 200 is clamped, not refused; below 1 makes no sense.
  m.limit = std::min<std::int64_t>(r.integer("limit", {}, 1, INT64_MAX).value_or(default_history), max_history);
  return m;
}

struct type_entry {
  std::string_view name;
  client_message (*read)(field_reader&);
};
constexpr type_entry implemented_types[] = {
    {"connect", read_connect},
    {"register", read_register},
    {"file_uploaded", read_file_id<file_uploaded_msg>},
    {"file_removed", read_file_id<file_removed_msg>},
    {"post_submitted", read_post_submitted},
    {"ping", read_no_fields<ping_msg>},
    {"before_disconnect", read_no_fields<before_disconnect_msg>},
    {"join_room", read_join_room},
    {"leave_room", read_leave_room},
    {"publish", read_publish},
    {"watch_rooms", read_no_fields<watch_rooms_msg>},
    {"unwatch_rooms", read_no_fields<unwatch_rooms_msg>},
    {"subscribe", read_subscribe},
    {"unsubscribe", read_unsubscribe},
    {"message", read_chat_message},
    {"message_read", read_message_read},
    {"typing", read_typing},
    {"history", read_history},
};


struct type_name_of {
  const char* operator()(const connect_msg&) const { return "connect"; }
  const char* operator()(const register_msg&) const { return "register"; }
  const char* operator()(const file_uploaded_msg&) const { return "file_uploaded"; }
  const char* operator()(const file_removed_msg&) const { return "file_removed"; }
  const char* operator()(const post_submitted_msg&) const { return "post_submitted"; }
  const char* operator()(const ping_msg&) const { return "ping"; }
  const char* operator()(const before_disconnect_msg&) const { return "before_disconnect"; }
  const char* operator()(const join_room_msg&) const { return "join_room"; }
  const char* operator()(const leave_room_msg&) const { return "leave_room"; }
  const char* operator()(const publish_msg&) const { return "publish"; }
  const char* operator()(const watch_rooms_msg&) const { return "watch_rooms"; }
  const char* operator()(const unwatch_rooms_msg&) const { return "unwatch_rooms"; }
  const char* operator()(const subscribe_msg&) const { return "subscribe"; }
  const char* operator()(const unsubscribe_msg&) const { return "unsubscribe"; }
  const char* operator()(const chat_message_msg&) const { return "message"; }
  const char* operator()(const message_read_msg&) const { return "message_read"; }
  const char* operator()(const typing_msg&) const { return "typing"; }
  const char* operator()(const history_msg&) const { return "history"; }
};

decode_error make_error(err code, std::string message, const json::value* ref = nullptr,
                        std::string field = {}) {
  decode_error e;
  e.code = code;
  e.message = std::move(message);
  if (ref) e.ref = json::value(*ref, json::storage_ptr());  // out of the arena
  e.field = std::move(field);
  return e;
}

}  // namespace

// ---- public API ---------------------------------------------------------------------------

const char* type_name(const client_message& m) { return std::visit(type_name_of{}, m); }

bool counts_as_bad_frame(err code) {
  return code == err::bad_json || code == err::unsupported_frame || code == err::unknown_type ||
         code == err::invalid_field;
}

bool valid_id(std::string_view s) { return valid_chars(s, 1); }
bool valid_user_id(std::string_view s) { return valid_chars(s, 2); }
bool valid_chat_id(std::string_view s) {
  if (s.empty() || s.size() > max_chat_id_bytes) return false;
  for (char c : s)
    if (!(id_table[static_cast<unsigned char>(c)] & 1)) return false;
  return true;
}
bool valid_channel(std::string_view s) {
  constexpr std::string_view chat_prefix = "messages/";
  if (s.substr(0, chat_prefix.size()) == chat_prefix) return valid_chat_id(s.substr(chat_prefix.size()));
  return s == "feed" || s == "online" || s == "notifications" || s == "connections";
}
bool valid_display_name(std::string_view s) {
  if (s.empty() || s.size() > max_text_bytes) return false;
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  return true;
}

decode_error binary_frame_error() {
  return make_error(err::unsupported_frame, "binary frames are not supported; send JSON text frames");
}

decoded decode(std::string_view text) {
  // Declared before `doc` so the arena outlives everything allocated in it.
  alignas(std::max_align_t) unsigned char arena_buf[arena_bytes];
  json::monotonic_resource arena(arena_buf, sizeof arena_buf);

  json::error_code ec;
  // Default parse_options: strict JSON (no comments, no trailing commas, valid UTF-8), depth 32.
  json::value doc = json::parse(json::string_view(text.data(), text.size()), ec,
                                json::storage_ptr(&arena));
  if (ec) return make_error(err::bad_json, "invalid JSON: " + ec.message());
  const json::object* obj = doc.if_object();
  if (!obj) return make_error(err::bad_json, "a message must be a JSON object");

  // ref: echoed in errors only when it is itself valid (a string or an integer).
  const json::value* ref = find(*obj, "ref");
  bool ref_ok = !ref || ref->is_string() || ref->is_int64() || ref->is_uint64();
  const json::value* echo = ref_ok ? ref : nullptr;

  const json::value* type_v = find(*obj, "type");
  const json::string* type_s = type_v ? type_v->if_string() : nullptr;
  if (!type_s)
    return make_error(err::invalid_field,
                      type_v ? "type must be a string" : "type is required", echo, "type");
  if (!ref_ok)
    return make_error(err::invalid_field, "ref must be a string or an integer", nullptr, "ref");

  std::string_view type = as_view(*type_s);
  const type_entry* entry = nullptr;
  for (const type_entry& t : implemented_types)
    if (t.name == type) { entry = &t; break; }
  if (!entry) {
    std::string msg = "unknown message type \"";
    msg += utf8_prefix(type, max_quoted_type_bytes);
    if (type.size() > max_quoted_type_bytes) msg += "...";
    msg += '"';
    return make_error(err::unknown_type, std::move(msg), echo);
  }

  field_reader r(*obj);
  client_message m = entry->read(r);
  if (r.failed()) return make_error(err::invalid_field, std::move(r.message()), echo, r.field());
  if (ref) std::visit([&](message_base& b) { b.ref = json::value(*ref, json::storage_ptr()); }, m);  // out of the arena
  return m;
}

frame to_frame(const json::object& message) {
  std::string payload = json::serialize(message);
  return std::make_shared<const std::string>(ws::encode(ws::opcode::text, payload));
}

}  // namespace tether::codec
