// Operations endpoints and authentication (PROTOCOL.md §3, §9, §11 "Endpoints and auth").
#include "support.hpp"

#include <gtest/gtest.h>

using namespace tether::it;

TEST(Http, HealthReadyMetricsAndUnknownPaths) {
  server_process s;
  EXPECT_EQ(http_call(s.port(), http::verb::get, "/healthz").status, 200);
  EXPECT_EQ(http_call(s.port(), http::verb::get, "/readyz").status, 200);

  auto metrics = http_call(s.port(), http::verb::get, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("tether_deletion_queue_depth"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("tether_deletions_total{result=\"done\"}"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("tether_deletions_total{result=\"failed\"}"), std::string::npos) << metrics.body;

  EXPECT_EQ(http_call(s.port(), http::verb::get, "/no/such/path").status, 404);
  ws_client c(s.port());
  EXPECT_EQ(c.connect("/ws/no-such-endpoint?token=" + s.token("alice")), 404);

  // The api key guards the audit and admin routes.
  EXPECT_EQ(http_call(s.port(), http::verb::get, "/api/audit").status, 401);
  EXPECT_EQ(http_call(s.port(), http::verb::get, "/api/audit", "not-the-key").status, 401);
  EXPECT_EQ(http_call(s.port(), http::verb::get, "/api/audit", s.api_key()).status, 200);
  auto cleanup = http_call(s.port(), http::verb::get, "/api/admin/cleanup", s.api_key());
  EXPECT_EQ(cleanup.status, 200);
  auto v = cleanup.json();
  ASSERT_TRUE(v.is_object()) << cleanup.body;
  EXPECT_TRUE(v.as_object().contains("queued")) << cleanup.body;
  EXPECT_TRUE(v.as_object().contains("failed")) << cleanup.body;
}

TEST(Auth, BadTokenOnUpgradeIs401) {
  server_process s;
  {
    ws_client c(s.port());
    EXPECT_EQ(c.connect("/ws?token=not.a.jwt"), 401);
  }
  {
    ws_client c(s.port());
    EXPECT_EQ(c.connect("/ws", {{"Authorization", "Bearer garbage"}}), 401);
  }
  {
    // Well-formed, but signed with another secret.
    ws_client c(s.port());
    auto forged = sign_jwt({{"sub", "alice"}, {"exp", unix_seconds() + 3600}}, "some-other-secret");
    EXPECT_EQ(c.connect("/ws/file-cleanup?token=" + forged), 401);
  }
}

TEST(Auth, NoTokenThenNothingClosesWith4001) {
  server_process s({"auth.timeout_ms=300"});
  ws_client c(s.port());
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(c.connect("/ws"), 101);

  // Before authentication only connect/register/ping are accepted.
  auto pong = request(c, {{"type", "ping"}, {"ref", "p"}});
  ASSERT_TRUE(pong);
  EXPECT_EQ(str(*pong, "type"), "pong") << boost::json::serialize(*pong);
  EXPECT_EQ(str(*pong, "ref"), "p");
  auto refused = request(c, {{"type", "post_submitted"}, {"ref", "x"}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(str(*refused, "type"), "error") << boost::json::serialize(*refused);
  EXPECT_EQ(str(*refused, "code"), "unauthorized");
  EXPECT_EQ(str(*refused, "ref"), "x");

  auto code = c.wait_close(3s);
  auto elapsed = std::chrono::duration_cast<ms>(std::chrono::steady_clock::now() - t0);
  ASSERT_TRUE(code) << "no close within 3 s";
  EXPECT_EQ(*code, 4001);
  EXPECT_GE(elapsed.count(), 250);
}

TEST(Auth, ConnectMessageWithTokenEchoesRef) {
  server_process s({"auth.timeout_ms=2000", "heartbeat.interval_ms=700"});
  ws_client c(s.port());
  ASSERT_EQ(c.connect("/ws"), 101);

  // A bad token by message: error unauthorized, and the client may retry.
  auto bad = request(c, {{"type", "connect"}, {"token", "nope"}, {"ref", 1}});
  ASSERT_TRUE(bad);
  EXPECT_EQ(str(*bad, "type"), "error") << boost::json::serialize(*bad);
  EXPECT_EQ(str(*bad, "code"), "unauthorized");
  EXPECT_EQ((*bad)["ref"], boost::json::value(1));

  auto connected = request(c, {{"type", "connect"}, {"token", s.token("alice")}, {"ref", "c1"}});
  ASSERT_TRUE(connected);
  EXPECT_EQ(str(*connected, "type"), "connected") << boost::json::serialize(*connected);
  EXPECT_EQ(str(*connected, "ref"), "c1");
  EXPECT_EQ(str(*connected, "user_id"), "alice");
  EXPECT_FALSE(str(*connected, "session_id").empty());
  EXPECT_FALSE(str(*connected, "resume_token").empty());
  EXPECT_EQ((*connected)["resumed"], boost::json::value(false));
  EXPECT_EQ((*connected)["heartbeat_ms"], boost::json::value(700));

  // Already authenticated: a second connect is refused, the session goes on.
  auto again = request(c, {{"type", "connect"}, {"token", s.token("alice")}, {"ref", "c2"}});
  ASSERT_TRUE(again);
  EXPECT_EQ(str(*again, "type"), "error") << boost::json::serialize(*again);
  EXPECT_EQ(str(*again, "ref"), "c2");
  auto pong = request(c, {{"type", "ping"}});
  ASSERT_TRUE(pong);
  EXPECT_EQ(str(*pong, "type"), "pong");
}

TEST(Auth, ConnectMessageWithMismatchedUserIdIsForbidden) {
  server_process s;
  ws_client c(s.port());
  ASSERT_EQ(c.connect("/ws"), 101);
  auto r = request(c, {{"type", "connect"}, {"token", s.token("alice")}, {"user_id", "bob"}, {"ref", "m"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(str(*r, "type"), "error") << boost::json::serialize(*r);
  EXPECT_EQ(str(*r, "code"), "forbidden");
  EXPECT_EQ(str(*r, "ref"), "m");
}

TEST(Auth, TokenInAuthorizationHeader) {
  server_process s;
  ws_client c(s.port());
  ASSERT_EQ(c.connect("/ws", {{"Authorization", "Bearer " + s.token("bob")}}), 101) << c.body();
  auto m = c.next_json();
  ASSERT_TRUE(m);
  EXPECT_EQ(str(*m, "type"), "connected") << boost::json::serialize(*m);
  EXPECT_EQ(str(*m, "user_id"), "bob");
  EXPECT_FALSE(m->contains("ref"));
}

TEST(Auth, ExpiredTokenIs401) {
  server_process s;
  auto secret = s.jwt_secret();
  ASSERT_FALSE(secret.empty());

  // The self-signed token is accepted while valid (so the signer is right) ...
  {
    ws_client c(s.port());
    auto valid = sign_jwt({{"sub", "dave"}, {"exp", unix_seconds() + 3600}}, secret);
    ASSERT_EQ(c.connect("/ws?token=" + valid), 101) << c.body();
    auto m = c.next_json();
    ASSERT_TRUE(m);
    EXPECT_EQ(str(*m, "user_id"), "dave");
  }
  // ... and refused once expired, in the URL, in the header, and by message.
  auto expired = sign_jwt({{"sub", "dave"}, {"exp", unix_seconds() - 5}}, secret);
  {
    ws_client c(s.port());
    EXPECT_EQ(c.connect("/ws?token=" + expired), 401);
  }
  {
    ws_client c(s.port());
    EXPECT_EQ(c.connect("/ws", {{"Authorization", "Bearer " + expired}}), 401);
  }
  {
    ws_client c(s.port());
    ASSERT_EQ(c.connect("/ws"), 101);
    auto r = request(c, {{"type", "connect"}, {"token", expired}});
    ASSERT_TRUE(r);
    EXPECT_EQ(str(*r, "type"), "error") << boost::json::serialize(*r);
    EXPECT_EQ(str(*r, "code"), "unauthorized");
  }
  // A token without exp is refused by default.
  {
    ws_client c(s.port());
    EXPECT_EQ(c.connect("/ws?token=" + sign_jwt({{"sub", "dave"}}, secret)), 401);
  }
}
