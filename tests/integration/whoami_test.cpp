// GET /api/whoami: the route a browser client asks why its WebSocket upgrade failed (docs/protocol.md).
#include "support.hpp"

#include <gtest/gtest.h>

using namespace tether::it;

namespace {

// The {"error":{"code","message"}} body of a refusal, as "code: message".
std::string error_of(const http_result& r) {
  auto v = r.json();
  if (!v.is_object() || !v.as_object().contains("error") || !v.as_object().at("error").is_object()) return r.body;
  auto& e = v.as_object().at("error").as_object();
  return str(e, "code") + ": " + str(e, "message");
}

}  // namespace

TEST(Whoami, ValidTokenAnswersItsClaims) {
  server_process s;
  auto secret = s.jwt_secret();
  auto exp = unix_seconds() + 3600;
  auto token = sign_jwt({{"sub", "dave"}, {"exp", exp}, {"name", "Dave D"}, {"guest", true}}, secret);

  auto r = http_call(s.port(), http::verb::get, "/api/whoami", token);
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = r.json();
  ASSERT_TRUE(v.is_object()) << r.body;
  auto& o = v.as_object();
  EXPECT_EQ(str(o, "user_id"), "dave");
  EXPECT_EQ(str(o, "name"), "Dave D");
  ASSERT_TRUE(o.contains("guest") && o.at("guest").is_bool()) << r.body;
  EXPECT_TRUE(o.at("guest").as_bool());
  // ISO 8601 UTC with milliseconds, the token's exp.
  auto expires = str(o, "expires_at");
  ASSERT_EQ(expires.size(), 24u) << r.body;
  EXPECT_EQ(expires.substr(19), ".000Z") << r.body;

  // A token from `tetherd token` works too (no name: empty, not a guest).
  auto plain = http_call(s.port(), http::verb::get, "/api/whoami", s.token("erin"));
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(str(plain.json().as_object(), "user_id"), "erin");
  EXPECT_FALSE(plain.json().as_object().at("guest").as_bool());
}

TEST(Whoami, BadExpiredOrMissingTokenIs401WithTheReason) {
  server_process s;
  auto secret = s.jwt_secret();

  auto expired = http_call(s.port(), http::verb::get, "/api/whoami",
                           sign_jwt({{"sub", "dave"}, {"exp", unix_seconds() - 5}}, secret));
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(error_of(expired), "unauthorized: invalid token: expired");

  // The same reason as the refused upgrade gives, word for word.
  ws_client c(s.port());
  EXPECT_EQ(c.connect("/ws?token=" + sign_jwt({{"sub", "dave"}, {"exp", unix_seconds() - 5}}, secret)), 401);
  EXPECT_NE(c.body().find("invalid token: expired"), std::string::npos) << c.body();

  auto forged = http_call(s.port(), http::verb::get, "/api/whoami",
                          sign_jwt({{"sub", "dave"}, {"exp", unix_seconds() + 3600}}, "another-secret"));
  EXPECT_EQ(forged.status, 401);
  EXPECT_EQ(error_of(forged).rfind("unauthorized: invalid token: ", 0), 0u) << forged.body;

  auto missing = http_call(s.port(), http::verb::get, "/api/whoami");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(error_of(missing).rfind("unauthorized: ", 0), 0u) << missing.body;

  // The api key is not a user token.
  EXPECT_EQ(http_call(s.port(), http::verb::get, "/api/whoami", s.api_key()).status, 401);
}
