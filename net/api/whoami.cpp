#include "net/api/whoami.hpp"

#include "actors/reader.hpp"
#include "net/api/request.hpp"
#include "net/ask.hpp"
#include "proto/clock.hpp"
#include "proto/jwt.hpp"

#include <boost/json.hpp>

namespace http = boost::beast::http;
namespace json = boost::json;

namespace tether {

using http::status;

namespace {

void answer_claims(const respond_fn& respond, unsigned version, const jwt::claims& c) {
  json::value expires_at = nullptr;
  if (c.exp) expires_at = json::string(iso8601_from_ms(*c.exp * 1000));
  answer(respond, json_response(version, status::ok,
                                json::serialize(json::object{{"user_id", c.sub},
                                                             {"name", c.name},
                                                             {"guest", c.guest},
                                                             {"expires_at", expires_at}})));
}

}  // namespace

void get_whoami(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond, const std::string& client) {
  auto version = req.version();
  auto token = bearer_token(req);
  if (token.empty())
    return answer_error(respond, version, status::unauthorized, "unauthorized", "a user token is required (Bearer)");
  auto r = jwt::verify(token, ctx->cfg->auth.jwt_secret, ctx->cfg->auth.allow_no_exp);
  if (!r.ok) return answer_error(respond, version, status::unauthorized, "unauthorized", "invalid token: " + r.why);
  auto claims = *r.ok;
  if (!claims.guest) return answer_claims(respond, version, claims);
  // A deleted guest's token is refused at the upgrade; say so here too, or a browser (which can't
  // read the upgrade's 401) would be told the token is fine and reconnect forever.
  ask<bool>(ctx->sys, ctx->deps.reader, [respond, version, claims](caf::expected<bool> gone) {
    if (!gone) return internal_error(respond, version, gone.error());
    if (*gone) return answer_error(respond, version, status::unauthorized, "unauthorized", "this guest no longer exists");
    answer_claims(respond, version, claims);
  }, guest_gone_atom::value, claims.sub);
}

}  // namespace tether
