#include "net/api/notify.hpp"

#include "actors/channel_registry.hpp"
#include "net/ask.hpp"
#include "proto/channel_messages.hpp"
#include "proto/codec.hpp"
#include "proto/random.hpp"

#include <boost/json.hpp>

#include <unordered_set>

namespace http = boost::beast::http;
namespace json = boost::json;

namespace tether {

namespace {

using status = http::status;

// Recipients of one request (follower_ids, members): a post to more followers than this is split
// by the service into several requests. Bounds one request's transaction and reply time; the
// 1 MiB body limit allows ~40 000 ids anyway.
constexpr std::size_t max_recipients = 10000;
// Random bytes of a chat id the server makes (c_<hex>): not guessable, like session ids.
constexpr std::size_t chat_id_bytes = 12;

// Reads a request body's fields; the first bad one is kept (and answered with 400 naming it).
class body_reader {
public:
  explicit body_reader(const http_request& req) {
    boost::system::error_code ec;
    auto v = json::parse(req.body(), ec);
    if (!ec && v.is_object()) {
      body_ = std::move(v.as_object());
      parsed_ = true;
    }
  }
  bool parsed() const { return parsed_; }
  bool ok() const { return field_.empty(); }
  const std::string& field() const { return field_; }
  const std::string& message() const { return message_; }

  std::string user(const char* key) {
    auto* v = take(key, [](const json::value& x) { return x.is_string() && codec::valid_user_id(x.as_string()); },
                   "must be a user id: 1-128 characters of [A-Za-z0-9_.@-]");
    return v ? std::string(v->as_string()) : std::string();
  }
  // A post, request or similar id of the service: an id string or an integer, passed on as given.
  json::value id(const char* key) {
    auto* v = take(key,
                   [](const json::value& x) {
                     return x.is_int64() || x.is_uint64() || (x.is_string() && codec::valid_id(x.as_string()));
                   },
                   "must be an integer or 1-128 characters of [A-Za-z0-9_.:@-]");
    return v ? *v : json::value(nullptr);
  }
  std::string name(const char* key) {
    auto* v = take(key, [](const json::value& x) { return x.is_string() && codec::valid_display_name(x.as_string()); },
                   "must be a string of 1-128 bytes without control characters");
    return v ? std::string(v->as_string()) : std::string();
  }
  json::value object(const char* key) {
    auto* v = take(key, [](const json::value& x) { return x.is_object(); }, "must be a JSON object");
    return v ? *v : json::value(nullptr);
  }
  json::value any(const char* key) {
    auto* v = take(key, [](const json::value&) { return true; }, "is required");
    return v ? *v : json::value(nullptr);
  }
  // Distinct user ids, in the order given; `min` of them at least.
  std::vector<std::string> users(const char* key, std::size_t min) {
    std::vector<std::string> out;
    auto* v = body_.if_contains(key);
    if (!v || !v->is_array() || v->as_array().size() > max_recipients || v->as_array().size() < min) {
      fail(key, "must be an array of " + std::to_string(min) + "-" + std::to_string(max_recipients) + " user ids");
      return out;
    }
    std::unordered_set<std::string> seen;
    for (auto& u : v->as_array()) {
      if (!u.is_string() || !codec::valid_user_id(u.as_string())) {
        fail(key, "must hold user ids: 1-128 characters of [A-Za-z0-9_.@-]");
        return {};
      }
      std::string id(u.as_string());
      if (seen.insert(id).second) out.push_back(std::move(id));
    }
    return out;
  }
  std::optional<std::string> optional_text(const char* key) {
    auto* v = body_.if_contains(key);
    if (!v || v->is_null()) return std::nullopt;
    if (v->is_string()) return std::string(v->as_string());
    fail(key, "must be a string");
    return std::nullopt;
  }
  // The field if present and `ok`; else null, and the request fails naming it.
  template <class Ok>
  const json::value* take(const char* key, Ok ok, const char* why) {
    auto* v = body_.if_contains(key);
    if (v && ok(*v)) return v;
    fail(key, why);
    return nullptr;
  }
  void fail(const std::string& key, const std::string& why) {
    if (!field_.empty()) return;
    field_ = key;
    message_ = key + " " + why;
  }

private:
  json::object body_;
  bool parsed_ = false;
  std::string field_, message_;
};

// 400 for a body that is not an object or has a bad field; true when it was answered.
bool refused(body_reader& b, const respond_fn& respond, unsigned version) {
  if (!b.parsed()) {
    answer_error(respond, version, status::bad_request, "bad_json", "the body must be a JSON object");
    return true;
  }
  if (b.ok()) return false;
  answer_error(respond, version, status::bad_request, "invalid_field", b.message(), b.field());
  return true;
}

std::string text(const json::object& o) { return json::serialize(o); }

stored_notification note(const std::string& user, const char* stream, const json::object& payload) {
  stored_notification n;
  n.user_id = user;
  n.stream = stream;
  n.payload = text(payload);
  return n;
}

void deliver(const std::shared_ptr<server_context>& ctx, unsigned version, const respond_fn& respond, notify_batch batch) {
  ask<notify_result>(ctx->sys, ctx->deps.channels, [respond, version](caf::expected<notify_result> r) {
    if (!r) return internal_error(respond, version, r.error());
    answer(respond, json_response(version, status::accepted,
                                  json::serialize(json::object{{"delivered", r->delivered}, {"stored", r->stored}})));
  }, notify_atom::value, std::move(batch));
}

}  // namespace

void create_chat(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond,
                 const std::string&) {
  auto version = req.version();
  body_reader b(req);
  auto chat_id = b.optional_text("chat_id");
  if (chat_id && !codec::valid_chat_id(*chat_id)) b.fail("chat_id", "must be 1-300 characters of [A-Za-z0-9_.:@-]");
  if (chat_id && chat_id->compare(0, 3, "dm:") == 0)
    b.fail("chat_id", "must not start with dm: (dm:{a}:{b} chats need no creation)");
  auto members = b.users("members", 1);
  if (refused(b, respond, version)) return;
  auto id = chat_id.value_or("c_" + random_hex(chat_id_bytes));
  ask<bool>(ctx->sys, ctx->deps.storage, [respond, version, id](caf::expected<bool> created) {
    if (!created) return internal_error(respond, version, created.error());
    if (!*created) return answer_error(respond, version, status::conflict, "conflict", "chat " + id + " exists", "chat_id");
    answer(respond, json_response(version, status::created, json::serialize(json::object{{"chat_id", id}})));
  }, chat_new_atom::value, id, members);
}

void notify_route(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond,
                  const std::string&) {
  auto version = req.version();
  auto what = path_of(req.target()).substr(notify_prefix.size());
  body_reader b(req);
  notify_batch batch;
  if (what == "post") {
    auto author = b.user("author_id");
    auto post = b.object("post");
    if (post.is_object() && !post.as_object().contains("id")) b.fail("post", "must have an id");
    auto followers = b.users("follower_ids", 0);
    if (refused(b, respond, version)) return;
    json::object n{{"type", "notification"}, {"kind", "new_post"}, {"author_id", author}, {"post", post}};
    for (const auto& f : followers) batch.notes.notes.push_back(note(f, "notifications", n));
    batch.feed = codec::encode_event(json::object{{"type", "new_post"}, {"author_id", author}, {"post", post}});
  } else if (what == "comment") {
    auto owner = b.user("post_owner_id");
    auto post_id = b.id("post_id");
    auto comment = b.any("comment");
    auto user = b.user("user_id");
    auto user_name = b.name("user_name");
    if (refused(b, respond, version)) return;
    batch.notes.notes.push_back(note(owner, "notifications",
                                     json::object{{"type", "notification"}, {"kind", "comment_on_post"},
                                                  {"post_id", post_id}, {"comment", comment}, {"user_id", user},
                                                  {"user_name", user_name}}));
    batch.feed = codec::encode_event(json::object{
        {"type", "new_comment"}, {"post_id", post_id}, {"comment", comment}, {"user_id", user}, {"user_name", user_name}});
  } else if (what == "like") {
    auto owner = b.user("post_owner_id");
    auto post_id = b.id("post_id");
    auto user = b.user("user_id");
    auto user_name = b.name("user_name");
    if (refused(b, respond, version)) return;
    batch.notes.notes.push_back(note(owner, "notifications",
                                     json::object{{"type", "notification"}, {"kind", "like"}, {"post_id", post_id},
                                                  {"user_id", user}, {"user_name", user_name}}));
  } else if (what == "connection_request" || what == "connection_accepted") {
    auto to = b.user("to_user_id");
    auto request_id = b.id("request_id");
    auto from = b.user("from_user_id");
    auto from_name = b.name("from_user_name");
    if (refused(b, respond, version)) return;
    batch.notes.notes.push_back(note(to, "connections",
                                     json::object{{"type", what}, {"request_id", request_id}, {"from_user_id", from},
                                                  {"from_user_name", from_name}}));
  } else {
    return answer_error(respond, version, status::not_found, "not_found", "no such endpoint");
  }
  deliver(ctx, version, respond, std::move(batch));
}

void publish_event(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond,
                   const std::string&) {
  auto version = req.version();
  body_reader b(req);
  auto channel = b.optional_text("channel").value_or("");
  if (!codec::valid_channel(channel))
    b.fail("channel", "must be messages/{chat_id} or feed");
  else if (channel == "online" || channel == "notifications" || channel == "connections")
    b.fail("channel", "must be messages/{chat_id} or feed (a user's notifications: POST /api/users/{user_id}/notify)");
  auto data = b.any("data");
  if (refused(b, respond, version)) return;
  auto f = codec::encode_event(json::object{{"type", "channel_message"}, {"channel", channel}, {"data", data}});
  ask<std::int64_t>(ctx->sys, ctx->deps.channels, [respond, version](caf::expected<std::int64_t> r) {
    if (!r) return internal_error(respond, version, r.error());
    answer(respond, json_response(version, status::accepted,
                                  json::serialize(json::object{{"delivered", *r}, {"stored", 0}})));
  }, broadcast_atom::value, channel, f);
}

void notify_user(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond,
                 const std::string&) {
  auto version = req.version();
  auto rest = path_of(req.target()).substr(users_prefix.size());
  auto slash = rest.find('/');
  if (slash == std::string::npos || rest.substr(slash) != "/notify")
    return answer_error(respond, version, status::not_found, "not_found", "no such endpoint");
  auto user = rest.substr(0, slash);
  if (!codec::valid_user_id(user))
    return answer_error(respond, version, status::bad_request, "invalid_field",
                        "user_id must be 1-128 characters of [A-Za-z0-9_.@-]", "user_id");
  body_reader b(req);
  auto data = b.any("data");
  if (refused(b, respond, version)) return;
  notify_batch batch;
  batch.notes.notes.push_back(
      note(user, "notifications", json::object{{"type", "notification"}, {"kind", "custom"}, {"data", data}}));
  deliver(ctx, version, respond, std::move(batch));
}

}  // namespace tether
