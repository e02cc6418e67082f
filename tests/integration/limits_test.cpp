// Per-IP connection limit and per-session rate limit (PROTOCOL.md §8, §11 "Limits").
#include "support.hpp"

#include <gtest/gtest.h>

using namespace tether::it;

TEST(Limits, ConnectionsPerIpOverTheLimitGet429) {
  server_process s({"limits.max_connections_per_ip=2"});
  auto token = s.token("alice");
  ws_client a(s.port()), b(s.port()), c(s.port());
  ASSERT_TRUE(open_session(a, token));
  ASSERT_TRUE(open_session(b, token));
  EXPECT_EQ(c.connect("/ws?token=" + token), 429);

  // A place frees once a connection is gone.
  ASSERT_TRUE(a.close(1000));
  EXPECT_TRUE(wait_until(
      [&] {
        ws_client probe(s.port());
        return probe.connect("/ws?token=" + token) == 101;
      },
      3s));
}

TEST(Limits, RateLimitRefusesThenClosesAbuse4029) {
  // 1 message/s with a burst of 3: abuse is more than 2 * (3 + 1) = 8 refusals within 2 s.
  server_process s({"limits.messages_per_second=1", "limits.burst=3"});
  ws_client c(s.port());
  ASSERT_TRUE(open_session(c, s.token("alice")));

  // `ping` messages do not count.
  for (int i = 0; i < 10; ++i) {
    auto pong = request(c, {{"type", "ping"}, {"ref", i}});
    ASSERT_TRUE(pong);
    ASSERT_EQ(str(*pong, "type"), "pong") << serialize(*pong);
  }

  int refused = 0;
  std::optional<int> code;
  for (int i = 0; i < 40 && c.is_open(); ++i) {
    if (!c.send_json({{"type", "register"}, {"ref", i}})) break;
    auto m = c.next_json(2s);
    if (!m) break;
    if (str(*m, "type") == "error") {
      EXPECT_EQ(str(*m, "code"), "rate_limited") << serialize(*m);
      EXPECT_EQ((*m)["ref"], boost::json::value(i)) << serialize(*m);
      ++refused;
    } else {
      EXPECT_EQ(str(*m, "type"), "registered") << serialize(*m);
    }
  }
  code = c.wait_close(3s);
  ASSERT_TRUE(code) << "not closed after " << refused << " refusals";
  EXPECT_EQ(*code, 4029);
  EXPECT_GE(refused, 8);
  EXPECT_LE(refused, 11);  // 9 within the window, give or take a token refilled meanwhile
}
