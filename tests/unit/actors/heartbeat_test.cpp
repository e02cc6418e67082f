// Session actor timers: the server-side heartbeat and the idle timeout (PROTOCOL.md §4,
// §11 "Session life": any frame resets the heartbeat count; only application messages count
// against idle).
#include "fixture.hpp"

namespace tether::actor_testing {
namespace {

class Heartbeat : public actor_test {};

TEST_F(Heartbeat, PingsEveryIntervalThenClosesAfterMaxMissed) {
  auto a = open_tracking({"f1"});
  auto sid = a.session_id();
  advance(990ms);
  EXPECT_EQ(a.link->pings, 0);
  advance(10ms);  // t = 1000
  EXPECT_EQ(a.link->pings, 1);
  advance(1000ms);  // 2000
  EXPECT_EQ(a.link->pings, 2);
  advance(1000ms);  // 3000: the third unanswered ping
  EXPECT_EQ(a.link->pings, 3);
  EXPECT_FALSE(a.link->closed);
  EXPECT_TRUE(closed_reasons(sid).empty());
  advance(990ms);
  EXPECT_FALSE(a.link->closed);
  advance(10ms);  // 4000: the next tick
  EXPECT_TRUE(closed_with(a, 4008));
  EXPECT_EQ(a.link->pings, 3);
  // Ended by the server: no window.
  EXPECT_EQ(closed_reasons(sid), strings{"timeout"});
  EXPECT_EQ(session_state(sid), "ended");
  auto queued = audit_of("deletion_queued", sid);
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].reason, "timeout");
  EXPECT_TRUE(deleted("f1"));
  EXPECT_EQ(ask<std::int64_t>(deps().directory, count_atom::value), 0);
  // Nothing more after the end.
  advance(5000ms);
  EXPECT_EQ(a.link->pings, 3);
  EXPECT_EQ(a.link->close_calls, 1);
}

TEST_F(Heartbeat, APongResetsTheCount) {
  auto a = open_session();
  for (int i = 1; i <= 8; ++i) {
    advance(1000ms);
    EXPECT_EQ(a.link->pings, i);
    pong(a);
  }
  EXPECT_FALSE(a.link->closed) << a.link->close_code;
}

TEST_F(Heartbeat, AnyClientMessageResetsTheCount) {
  auto a = open_session();
  for (int i = 1; i <= 8; ++i) {
    advance(1000ms);
    send_json(a, R"({"type":"ping"})");
  }
  EXPECT_FALSE(a.link->closed) << a.link->close_code;
  EXPECT_EQ(a.link->count("pong"), 8u);
}

TEST_F(Heartbeat, ABadFrameIsActivityToo) {
  auto a = open_session();
  for (int i = 1; i <= 6; ++i) {
    advance(1000ms);
    send_bad_frame(a);
  }
  EXPECT_FALSE(a.link->closed) << a.link->close_code;
}

TEST_F(Heartbeat, TheCountStartsOverAfterAPong) {
  auto a = open_session();
  advance(3000ms);
  EXPECT_EQ(a.link->pings, 3);
  pong(a);  // answers late, just before the fatal tick
  advance(3000ms);  // 4000, 5000, 6000: three more pings
  EXPECT_EQ(a.link->pings, 6);
  EXPECT_FALSE(a.link->closed);
  advance(1000ms);  // 7000
  EXPECT_TRUE(closed_with(a, 4008));
  EXPECT_EQ(closed_reasons(a.session_id()), strings{"timeout"});
}

TEST_F(Heartbeat, NoPingsOnceDetached) {
  auto a = open_session();
  advance(1000ms);
  EXPECT_EQ(a.link->pings, 1);
  drop(a);
  advance(1900ms);
  EXPECT_EQ(a.link->pings, 1);
  EXPECT_TRUE(closed_reasons(a.session_id()).empty());  // still inside the window
}

// ---------------------------------------------------------------------------------------------
// Idle timeout: application messages only

class Idle : public actor_test {};

TEST_F(Idle, ClosesWith4010EvenWhileTheHeartbeatIsAnswered) {
  auto a = open_tracking({"f1"});
  auto sid = a.session_id();
  for (int i = 1; i <= 9; ++i) {  // pongs and `ping` messages do not count
    advance(1000ms);
    if (i % 2)
      pong(a);
    else
      send_json(a, R"({"type":"ping"})");
  }
  advance(990ms);
  EXPECT_FALSE(a.link->closed);
  advance(10ms);  // 10000
  EXPECT_TRUE(closed_with(a, 4010));
  EXPECT_EQ(closed_reasons(sid), strings{"idle"});
  EXPECT_TRUE(deleted("f1"));
}

TEST_F(Idle, AnApplicationMessagePushesItBack) {
  auto a = open_session();
  auto sid = a.session_id();
  for (int i = 1; i <= 15; ++i) {
    advance(1000ms);
    pong(a);
    if (i == 6) send_json(a, R"({"type":"register","file_ids":[]})");  // t = 6000
  }
  EXPECT_FALSE(a.link->closed) << a.link->close_code;  // t = 15000
  advance(990ms);
  EXPECT_FALSE(a.link->closed);
  advance(10ms);  // 16000 = 6000 + idle_timeout_ms
  EXPECT_TRUE(closed_with(a, 4010));
  EXPECT_EQ(closed_reasons(sid), strings{"idle"});
}

TEST_F(Idle, ARefusedApplicationMessageStillCounts) {
  // file_removed of an untracked file is an application message, even though it is refused.
  auto a = open_session();
  for (int i = 1; i <= 12; ++i) {
    advance(1000ms);
    pong(a);
    if (i == 5) send_json(a, R"({"type":"file_removed","file_id":"zz"})");
  }
  EXPECT_FALSE(a.link->closed) << a.link->close_code;  // 12000 < 15000
  EXPECT_EQ(str(a.link->last("error").at("code")), "not_found");
}

TEST_F(Idle, BadFramesDoNotCount) {
  auto a = open_session();
  for (int i = 1; i <= 10; ++i) {
    advance(1000ms);
    send_bad_frame(a);
  }
  EXPECT_TRUE(closed_with(a, 4010));
}

}  // namespace
}  // namespace tether::actor_testing
