// Guests (PROTOCOL.md §6 "Guests", §11 "Rooms"): a guest inactive past users.guest_inactive_ms is
// deleted by the supervisor's sweep; its rooms get user_left `inactive`, its sessions close with
// 4010 and end with reason `inactive`, and its token is refused from then on. The sweep compares
// with the wall clock, so the tests age a guest by writing its last activity into the past.
#include "fixture.hpp"

#include "actors/room_registry.hpp"

namespace tether::actor_testing {
namespace {

class Guests : public actor_test {
 protected:
  Guests() {
    s.users.guest_inactive_ms = 600000;
    s.users.sweep_interval_ms = 1000;
    s.session.idle_timeout_ms = 3600000;
    s.session.stale_after_ms = 3600000;
  }
  session_start guest_start(const std::string& user) {
    session_start start;
    start.user = jwt::claims{user, unix_ms() / 1000 + 3600, "Guest " + user, true};
    return start;
  }
  test_session open_guest(const std::string& user) { return spawn_with(guest_start(user)); }
  void age(const std::string& user) {
    raw_sqlite(dir_ + "/t.db", raw_sqlite::mode::read_write)
        .exec("UPDATE users SET last_active_ms=1000 WHERE user_id='" + user + "'");
  }
  void join(const test_session& s, const std::string& room) {
    send_json(s, R"({"type":"join_room","room_id":")" + room + "\"}");
  }
  void keep_alive(std::initializer_list<const test_session*> sessions, std::chrono::milliseconds total) {
    for (auto t = 0ms; t < total; t += 500ms) {
      advance(500ms);
      for (auto* s : sessions) pong(*s);
    }
  }
};

TEST_F(Guests, AnInactiveGuestIsDeletedItsRoomsToldAndItsSocketClosed) {
  start_supervisor();
  auto g = open_guest("g_1"), bob = open_session("bob");
  join(g, "study");
  join(bob, "study");
  ASSERT_EQ(bob.link->count("user_left"), 0u);
  auto sid = g.session_id();
  keep_alive({&g, &bob}, 2000ms);
  EXPECT_FALSE(g.link->closed);  // a sweep or two went by: the guest is recent

  age("g_1");
  keep_alive({&g, &bob}, 1500ms);
  EXPECT_TRUE(g.link->closed);
  EXPECT_EQ(g.link->close_code, 4010);
  auto left = bob.link->last("user_left");
  EXPECT_EQ(str(left.at("user_id")), "g_1");
  EXPECT_EQ(str(left.at("reason")), "inactive");
  EXPECT_EQ(bob.link->count("user_left"), 1u);
  EXPECT_EQ(closed_reasons(sid), strings{"inactive"});
  EXPECT_EQ(raw().integer("SELECT COUNT(*) FROM users WHERE user_id='g_1'"), 0);
  EXPECT_EQ(raw().integer("SELECT COUNT(*) FROM room_places WHERE session_id='" + sid + "'"), 0);
  EXPECT_EQ(raw().integer("SELECT COUNT(*) FROM users WHERE user_id='bob'"), 1);  // only guests go
  EXPECT_FALSE(bob.link->closed);
}

TEST_F(Guests, ADeletedGuestsTokenIsRefused) {
  start_supervisor();
  auto g = open_guest("g_1");
  age("g_1");
  keep_alive({&g}, 1500ms);
  ASSERT_TRUE(g.link->closed);

  auto again = open_guest("g_1");
  EXPECT_EQ(again.link->count("connected"), 0u);
  EXPECT_EQ(str(again.link->last("error").at("code")), "unauthorized");
  EXPECT_TRUE(again.link->closed);
  EXPECT_EQ(again.link->close_code, 4010);
  // The reader says so too (the upgrade asks it, to answer 401).
  EXPECT_TRUE(*ask<bool>(deps().reader, guest_gone_atom::value, std::string("g_1")));
  EXPECT_FALSE(*ask<bool>(deps().reader, guest_gone_atom::value, std::string("g_2")));
}

TEST_F(Guests, ADisconnectedGuestInItsResumeWindowEndsInactiveAndCannotResume) {
  s.session.resume_window_ms = 3600000;
  start_supervisor();
  auto g = open_guest("g_1");
  auto sid = g.session_id(), token = g.resume_token();
  g.link->tell_closed(1006, false);
  run();
  ASSERT_EQ(session_state(sid), "detached");
  age("g_1");
  advance(1500ms);
  EXPECT_EQ(closed_reasons(sid), strings{"inactive"});
  auto st = guest_start("g_1");
  st.resume_token = token;
  auto back = spawn_with(std::move(st));
  EXPECT_EQ(back.link->count("connected"), 0u);
  EXPECT_EQ(back.link->close_code, 4010);
}

TEST_F(Guests, ARestartSweepsBeforeRestoringSoADeletedGuestsSessionNeverComesBack) {
  s.session.resume_window_ms = 3600000;
  auto sup = start_supervisor();
  auto g = open_guest("g_1"), bob = open_session("bob");
  join(g, "study");
  auto sid = g.session_id(), bob_sid = bob.session_id();
  kill_supervisor(sup);  // kill -9: both sessions stay open in SQLite
  age("g_1");
  start_supervisor();
  run();
  EXPECT_EQ(closed_reasons(sid), strings{"inactive"});
  EXPECT_EQ(session_state(bob_sid), "detached");  // bob waits for his resume as usual
  EXPECT_EQ(raw().integer("SELECT COUNT(*) FROM room_places"), 0);
}

}  // namespace
}  // namespace tether::actor_testing
