#include "net/api/guests.hpp"

#include "actors/storage.hpp"
#include "net/ask.hpp"
#include "proto/clock.hpp"
#include "proto/codec.hpp"
#include "proto/jwt.hpp"
#include "proto/random.hpp"

#include <boost/json.hpp>

namespace http = boost::beast::http;
namespace json = boost::json;

namespace tether {

namespace {

// 96 random bits: a guest id is shown to everyone in its rooms and must not be guessable (its
// tombstone would refuse a colliding guest's token). "g_" marks the server's guests in logs.
constexpr std::size_t guest_id_bytes = 12;

}  // namespace

void create_guest(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond,
                  const std::string& client) {
  auto version = req.version();
  boost::system::error_code ec;
  auto body = json::parse(req.body(), ec);
  if (ec || !body.is_object())
    return answer_error(respond, version, http::status::bad_request, "bad_json", "the body must be a JSON object");
  auto* name = body.as_object().if_contains("display_name");
  if (!name || !name->is_string() || !codec::valid_display_name(name->as_string()))
    return answer_error(respond, version, http::status::bad_request, "invalid_field",
                        "display_name must be a string of 1-128 bytes without control characters", "display_name");
  // Counted only for well-formed requests: a bad one changes nothing.
  if (!ctx->guest_limits.take(client)) {
    auto res = error_response(version, http::status::too_many_requests, "rate_limited",
                              "too many guests from this address; try again later");
    res.set(http::field::retry_after, std::to_string(std::max<std::int64_t>(1, ctx->guest_limits.retry_after_s(client))));
    return answer(respond, std::move(res));
  }
  std::string display_name(name->as_string());
  auto user_id = "g_" + random_hex(guest_id_bytes);
  ask<bool>(ctx->sys, ctx->deps.storage, [ctx, respond, version, user_id, display_name](caf::expected<bool> r) {
    if (!r) return internal_error(respond, version, r.error());
    if (!*r)  // 96 random bits collided: never in practice, but never hand out someone else's id
      return answer_error(respond, version, http::status::internal_server_error, "internal", "try again");
    auto exp_s = (unix_ms() + ctx->cfg->users.guest_token_ttl_ms) / 1000;
    auto token = jwt::sign(jwt::claims{user_id, exp_s, display_name, true}, ctx->cfg->auth.jwt_secret);
    answer(respond, json_response(version, http::status::created,
                                  json::serialize(json::object{{"user_id", user_id},
                                                               {"token", token},
                                                               {"display_name", display_name},
                                                               {"expires_at", iso8601_from_ms(exp_s * 1000)}})));
  }, guest_atom::value, user_id, display_name);
}

}  // namespace tether
