#include "net/api/whoami.hpp"

#include "net/api/request.hpp"
#include "proto/clock.hpp"
#include "proto/jwt.hpp"

#include <boost/json.hpp>

namespace http = boost::beast::http;
namespace json = boost::json;

namespace tether {

using http::status;

void get_whoami(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond, const std::string& client) {
  auto version = req.version();
  auto token = bearer_token(req);
  if (token.empty())
    return answer_error(respond, version, status::unauthorized, "unauthorized", "a user token is required (Bearer)");
  auto r = jwt::verify(token, ctx->cfg->auth.jwt_secret, ctx->cfg->auth.allow_no_exp);
  if (!r.ok) return answer_error(respond, version, status::unauthorized, "unauthorized", "invalid token: " + r.why);
  json::value expires_at = nullptr;
  if (r.ok->exp) expires_at = json::string(iso8601_from_ms(*r.ok->exp * 1000));
  answer(respond, json_response(version, status::ok,
                                json::serialize(json::object{{"user_id", r.ok->sub},
                                                             {"name", r.ok->name},
                                                             {"guest", r.ok->guest},
                                                             {"expires_at", expires_at}})));
}

}  // namespace tether
