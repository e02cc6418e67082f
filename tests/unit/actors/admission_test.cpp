// Session admission and the per-session rate limit as the session and directory actors apply
// them (PROTOCOL.md §8, §11 "Limits": queued.position is 1-based and re-sent as the queue moves;
// a queued connection may only ping; sessions in their resume window hold their place; past
// server.max_queue: close 4030. Every message but ping counts for the rate limit, bad frames
// included; more than 2 × (burst + rate) refusals within 2 s closes with 4029).
#include "fixture.hpp"

namespace tether::actor_testing {
namespace {

class Admission : public actor_test {
 protected:
  Admission() {
    s.server.max_sessions = 2;
    s.server.max_queue = 2;
  }
  static std::int64_t position(const test_session& ts) {
    auto q = ts.link->last("queued");
    return q.contains("position") ? q.at("position").as_int64() : -1;
  }
  // The server full (alice, bob) and its queue too (carol, dave waiting), in that order.
  struct full_house {
    test_session a, b, c, d;
  };
  full_house fill() { return {open_session("alice"), open_session("bob"), open_session("carol"), open_session("dave")}; }
  void leave(const test_session& ts) {
    send_json(ts, R"({"type":"before_disconnect"})");
    drop(ts, 1000);
  }
};

TEST_F(Admission, PastMaxSessionsANewSessionWaitsInTheQueue) {
  auto a = open_session("alice");
  auto b = open_session("bob");
  auto c = open_session("carol");
  EXPECT_EQ(a.link->count("connected"), 1u);
  EXPECT_EQ(b.link->count("connected"), 1u);
  EXPECT_EQ(c.link->count("connected"), 0u);
  EXPECT_EQ(position(c), 1);
  EXPECT_FALSE(c.link->closed);
  EXPECT_EQ(raw().text("SELECT COUNT(*) FROM sessions"), "2");

  // Only ping while waiting.
  send_json(c, R"({"type":"ping","ref":1})");
  EXPECT_EQ(c.link->last("pong").at("ref").as_int64(), 1);
  send_json(c, R"({"type":"register","file_ids":[],"ref":2})");
  auto e = c.link->last("error");
  EXPECT_EQ(str(e.at("code")), "capacity");
  EXPECT_EQ(e.at("ref").as_int64(), 2);
  EXPECT_EQ(c.link->count("registered"), 0u);

  leave(a);  // a place frees
  auto conn = c.link->last("connected");
  EXPECT_EQ(conn.at("resumed"), false);
  EXPECT_EQ(str(conn.at("user_id")), "carol");
  EXPECT_EQ(ask<std::int64_t>(deps().directory, count_atom::value), 2);
}

TEST_F(Admission, PastMaxQueueTheConnectionIsClosedWith4030) {
  auto [a, b, c, d] = fill();
  EXPECT_EQ(position(c), 1);
  EXPECT_EQ(position(d), 2);
  auto e = open_session("erin");
  EXPECT_EQ(str(e.link->last("error").at("code")), "capacity");
  EXPECT_TRUE(closed_with(e, 4030));
  EXPECT_EQ(e.link->count("connected"), 0u);
  EXPECT_FALSE(c.link->closed);
  EXPECT_FALSE(d.link->closed);
}

TEST_F(Admission, PositionsAreResentAsTheQueueMoves) {
  auto [a, b, c, d] = fill();
  ASSERT_EQ(position(d), 2);
  drop(c, 1006);  // c gives up waiting
  EXPECT_EQ(position(d), 1);
  EXPECT_EQ(d.link->count("connected"), 0u);
  leave(b);
  EXPECT_EQ(d.link->count("connected"), 1u);
  EXPECT_EQ(c.link->count("connected"), 0u);
}

TEST_F(Admission, ASessionInItsResumeWindowHoldsItsPlace) {
  add_file("f1");
  auto a = open_session("alice");
  auto b = open_session("bob");
  send_json(a, R"({"type":"register","file_ids":["f1"]})");
  drop(a);  // detached: still holds its place
  auto c = open_session("carol");
  EXPECT_EQ(c.link->count("connected"), 0u);
  EXPECT_EQ(position(c), 1);

  // Its owner comes back without queueing.
  auto a2 = open_session("alice", a.resume_token());
  EXPECT_EQ(a2.connected().at("resumed"), true);
  EXPECT_EQ(c.link->count("connected"), 0u);
  EXPECT_EQ(ask<std::int64_t>(deps().directory, count_atom::value), 2);

  // When it finally ends, the place goes to the queue.
  drop(a2);
  advance(2000ms);
  EXPECT_EQ(closed_reasons(a.session_id()), strings{"closed"});
  EXPECT_EQ(c.link->count("connected"), 1u);
}

TEST_F(Admission, AQueuedSessionIsNeverStaleOrIdle) {
  auto a = open_session("alice");
  auto b = open_session("bob");
  auto c = open_session("carol");
  for (int i = 0; i < 3; ++i) {
    advance(1000ms);
    pong(a);
    pong(b);
    send_json(a, R"({"type":"ping"})");
  }
  caf::anon_send(deps().directory, sweep_atom::value);
  run();
  EXPECT_FALSE(c.link->closed);
  EXPECT_EQ(c.link->pings, 0);
}

// ---------------------------------------------------------------------------------------------

class RateLimit : public actor_test {
 protected:
  RateLimit() {
    s.limits.burst = 5;
    s.limits.messages_per_second = 1;
  }
};

TEST_F(RateLimit, PastTheBurstMessagesAreRefused) {
  auto a = open_session();
  for (int i = 0; i < 5; ++i) send_json(a, R"({"type":"file_removed","file_id":"x"})");
  EXPECT_EQ(a.link->count("error"), 5u);  // not_found, all handled
  send_json(a, R"({"type":"register","file_ids":[],"ref":"r"})");
  auto e = a.link->last("error");
  EXPECT_EQ(str(e.at("code")), "rate_limited");
  EXPECT_EQ(str(e.at("ref")), "r");
  EXPECT_EQ(a.link->count("registered"), 0u);
  // ping is never limited
  send_json(a, R"({"type":"ping","ref":1})");
  EXPECT_EQ(a.link->last("pong").at("ref").as_int64(), 1);
  // One token per second comes back.
  advance(1000ms);
  send_json(a, R"({"type":"register","file_ids":[],"ref":"r2"})");
  EXPECT_EQ(str(a.link->last("registered").at("ref")), "r2");
  EXPECT_FALSE(a.link->closed);
}

TEST_F(RateLimit, BadFramesCountToo) {
  auto a = open_session();
  for (int i = 0; i < 5; ++i) send_bad_frame(a);
  send_json(a, R"({"type":"register","file_ids":[]})");
  EXPECT_EQ(str(a.link->last("error").at("code")), "rate_limited");
}

TEST_F(RateLimit, SustainedAbuseClosesWith4029) {
  auto a = open_session();
  for (int i = 0; i < 5; ++i) send_json(a, R"({"type":"register","file_ids":[]})");
  // 2 × (burst + rate) = 12 refusals are tolerated within 2 s; the 13th closes.
  for (int i = 0; i < 12; ++i) send_json(a, R"({"type":"register","file_ids":[]})");
  EXPECT_FALSE(a.link->closed);
  send_json(a, R"({"type":"register","file_ids":[]})");
  EXPECT_TRUE(closed_with(a, 4029));
  EXPECT_EQ(closed_reasons(a.session_id()), strings{"closed"});
}

}  // namespace
}  // namespace tether::actor_testing
