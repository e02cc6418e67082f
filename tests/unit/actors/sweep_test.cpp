// The stale sweep (PROTOCOL.md §4: a session whose last activity — any frame, pongs included —
// is older than session.stale_after_ms is ended, whatever its socket says; close 4008, reason
// "stale", no window).
#include "fixture.hpp"

namespace tether::actor_testing {
namespace {

class Sweep : public actor_test {
 protected:
  Sweep() {
    // Keep the heartbeat and the idle timer out of the way: only the sweep may end sessions.
    s.heartbeat.interval_ms = 600000;
    s.session.idle_timeout_ms = 6000000;
  }
  void sweep(const test_session& ts) {
    caf::anon_send(ts.actor, sweep_atom::value);
    run();
  }
};

TEST_F(Sweep, EndsASilentSessionWith4008Stale) {
  auto a = open_tracking({"f1"});
  auto sid = a.session_id();
  advance(4000ms);
  sweep(a);
  EXPECT_FALSE(a.link->closed);
  advance(1100ms);  // 5100 > stale_after_ms since the register
  sweep(a);
  EXPECT_TRUE(closed_with(a, 4008));
  EXPECT_EQ(closed_reasons(sid), strings{"stale"});
  EXPECT_EQ(session_state(sid), "ended");
  EXPECT_TRUE(deleted("f1"));
}

TEST_F(Sweep, RecentActivityIsNotStale) {
  auto a = open_session();
  advance(4000ms);
  pong(a);  // a pong is activity for the sweep
  advance(2000ms);  // 6000 since open, 2000 since the pong
  sweep(a);
  EXPECT_FALSE(a.link->closed);
  advance(2000ms);
  send_json(a, R"({"type":"ping"})");  // so is a `ping` message
  advance(4000ms);
  sweep(a);
  EXPECT_FALSE(a.link->closed);
  advance(1100ms);  // 5100 since the ping
  sweep(a);
  EXPECT_TRUE(closed_with(a, 4008));
  EXPECT_EQ(closed_reasons(a.session_id()), strings{"stale"});
}

TEST_F(Sweep, TheDirectoryForwardsTheSweepToEverySession) {
  auto a = open_session("alice");
  advance(3000ms);
  auto b = open_session("bob");
  advance(2500ms);  // a: 5500 silent, b: 2500
  caf::anon_send(deps().directory, sweep_atom::value);
  run();
  EXPECT_TRUE(closed_with(a, 4008));
  EXPECT_FALSE(b.link->closed);
  EXPECT_EQ(closed_reasons(a.session_id()), strings{"stale"});
  EXPECT_TRUE(closed_reasons(b.session_id()).empty());
  EXPECT_EQ(ask<std::int64_t>(deps().directory, count_atom::value), 1);
}

TEST_F(Sweep, ADetachedSessionIsLeftToItsWindow) {
  auto a = open_tracking({"f1"});
  auto sid = a.session_id();
  drop(a);
  advance(1500ms);
  sweep(a);
  EXPECT_TRUE(closed_reasons(sid).empty());
  EXPECT_EQ(session_state(sid), "detached");
  advance(500ms);
  EXPECT_EQ(closed_reasons(sid), strings{"closed"});
}

}  // namespace
}  // namespace tether::actor_testing
