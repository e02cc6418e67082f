// Rooms (PROTOCOL.md §6, §11 "Rooms"): membership, occupancy of distinct users, capacity, the
// duplicate policies, the room list, and ghosts: a member whose session ends leaves every room
// once, with the reason of its end; a resume within the window is seen by nobody.
#include "fixture.hpp"

#include "actors/room_registry.hpp"

namespace tether::actor_testing {
namespace {

class Rooms : public actor_test {
 protected:
  test_session named(const std::string& user, const std::string& name) {
    session_start start;
    start.user = jwt::claims{user, unix_ms() / 1000 + 3600, name, false};
    return spawn_with(std::move(start));
  }
  void join(const test_session& s, const std::string& room, const std::string& extra = "") {
    send_json(s, R"({"type":"join_room","room_id":")" + room + "\"" + extra + "}");
  }
  std::vector<std::string> user_ids(const json::value& participants) {
    std::vector<std::string> out;
    for (auto& p : participants.as_array()) out.push_back(str(p.at("user_id")));
    return out;
  }
  room_list_snapshot rooms() { return *ask<room_list_snapshot>(deps().rooms, list_atom::value); }
};

TEST_F(Rooms, AJoinAnswersRoomJoinedAndTellsTheOthers) {
  auto a = named("alice", "Alice A."), b = open_session("bob");
  join(a, "r1", R"(,"ref":"j1")");
  auto j = a.link->last("room_joined");
  EXPECT_EQ(str(j.at("room_id")), "r1");
  EXPECT_EQ(str(j.at("ref")), "j1");
  EXPECT_EQ(user_ids(j.at("participants")), strings{"alice"});
  EXPECT_EQ(j.at("occupancy"), 1);
  EXPECT_EQ(j.at("capacity"), 50);
  auto p = j.at("participants").as_array().at(0).as_object();
  EXPECT_EQ(str(p.at("display_name")), "Alice A.");  // the token's name
  EXPECT_EQ(str(p.at("session_id")), a.session_id());
  EXPECT_EQ(str(p.at("joined_at")).size(), 24u);  // 2026-01-01T00:00:00.000Z

  join(b, "r1", R"(,"display_name":"Bobby")");
  j = b.link->last("room_joined");
  EXPECT_EQ(user_ids(j.at("participants")), (strings{"alice", "bob"}));
  EXPECT_EQ(j.at("occupancy"), 2);
  auto u = a.link->last("user_joined");
  EXPECT_EQ(str(u.at("user_id")), "bob");
  EXPECT_EQ(str(u.at("display_name")), "Bobby");
  EXPECT_EQ(b.link->count("user_joined"), 0u);  // not to the joiner
}

TEST_F(Rooms, TheDisplayNameDefaultsToTheUserId) {
  auto a = open_session("alice");
  join(a, "r1");
  auto p = a.link->last("room_joined").at("participants").as_array().at(0).as_object();
  EXPECT_EQ(str(p.at("display_name")), "alice");
}

TEST_F(Rooms, LeaveRoomAnswersAndTellsTheOthers) {
  auto a = open_session("alice"), b = open_session("bob");
  join(a, "r1");
  join(b, "r1");
  send_json(b, R"({"type":"leave_room","room_id":"r1","ref":7})");
  auto l = b.link->last("room_left");
  EXPECT_EQ(str(l.at("room_id")), "r1");
  EXPECT_EQ(l.at("ref"), 7);
  auto u = a.link->last("user_left");
  EXPECT_EQ(str(u.at("user_id")), "bob");
  EXPECT_EQ(str(u.at("reason")), "left");
  send_json(b, R"({"type":"leave_room","room_id":"r1","ref":8})");
  EXPECT_EQ(str(b.link->last("error").at("code")), "not_found");
}

TEST_F(Rooms, MessagesRightBehindAJoinWaitForIt) {
  // Found by the restart test under load: room_joined reaches the client before the session hears
  // the room's answer, so a leave or publish sent right after it must not be refused.
  auto a = open_session("alice"), b = open_session("bob");
  join(b, "r1");
  for (const char* text : {R"({"type":"join_room","room_id":"r1"})", R"({"type":"publish","room_id":"r1","data":1})",
                           R"({"type":"leave_room","room_id":"r1","ref":"l"})"})
    a.link->tell_message(std::get<codec::client_message>(codec::decode(text)));
  run();
  EXPECT_EQ(a.link->count("error"), 0u) << a.link->dump();
  EXPECT_EQ(a.link->count("room_left"), 1u);
  EXPECT_EQ(b.link->count("room_message"), 1u);
  EXPECT_EQ(str(b.link->last("user_left").at("user_id")), "alice");
}

TEST_F(Rooms, PublishReachesEveryMemberTheSenderIncluded) {
  auto a = open_session("alice"), b = open_session("bob"), c = open_session("carol");
  join(a, "r1");
  join(b, "r1");
  send_json(a, R"({"type":"publish","room_id":"r1","data":{"emoji":"👍"}})");
  for (auto* s : {&a, &b}) {
    auto m = s->link->last("room_message");
    EXPECT_EQ(str(m.at("user_id")), "alice");
    EXPECT_EQ(str(m.at("data").at("emoji")), "👍");
  }
  EXPECT_EQ(a.link->count("ack"), 0u);  // publish gets no reply
  send_json(c, R"({"type":"publish","room_id":"r1","data":1,"ref":"p"})");
  auto e = c.link->last("error");
  EXPECT_EQ(str(e.at("code")), "forbidden");
  EXPECT_EQ(str(e.at("ref")), "p");
  EXPECT_EQ(b.link->count("room_message"), 1u);
}

TEST_F(Rooms, SwitchPolicyMovesThePlaceWithoutChurn) {
  auto a1 = open_session("alice"), b = open_session("bob");
  join(a1, "r1");
  join(b, "r1");
  auto before = b.link->frames.size();
  auto a2 = open_session("alice");
  join(a2, "r1");
  auto sw = a1.link->last("session_switched");
  EXPECT_EQ(str(sw.at("room_id")), "r1");
  EXPECT_EQ(str(sw.at("session_id")), a2.session_id());
  EXPECT_EQ(b.link->frames.size(), before) << "the others saw churn: " << b.link->dump();
  auto j = a2.link->last("room_joined");
  EXPECT_EQ(j.at("occupancy"), 2);
  EXPECT_EQ(j.at("participants").as_array().size(), 2u);
  // The old tab is no longer a member.
  send_json(a1, R"({"type":"publish","room_id":"r1","data":1})");
  EXPECT_EQ(str(a1.link->last("error").at("code")), "forbidden");
  // Nor does its end touch the room.
  send_json(a1, R"({"type":"before_disconnect"})");
  drop(a1, 1000);
  EXPECT_EQ(b.link->count("user_left"), 0u);
}

TEST_F(Rooms, AllowPolicyCountsAUserOnce) {
  s.rooms.duplicate_policy = "allow";
  auto a1 = open_session("alice"), a2 = open_session("alice"), b = open_session("bob");
  join(b, "r1");
  join(a1, "r1");
  join(a2, "r1");
  EXPECT_EQ(b.link->count("user_joined"), 1u);
  EXPECT_EQ(a2.link->last("room_joined").at("occupancy"), 2);
  EXPECT_EQ(a2.link->last("room_joined").at("participants").as_array().size(), 3u);
  EXPECT_EQ(a1.link->count("session_switched"), 0u);
  send_json(a1, R"({"type":"leave_room","room_id":"r1"})");
  EXPECT_EQ(b.link->count("user_left"), 0u);  // alice is still there
  send_json(a2, R"({"type":"leave_room","room_id":"r1"})");
  EXPECT_EQ(b.link->count("user_left"), 1u);
}

TEST_F(Rooms, CapacityCountsUsersAndASecondTabStillSwitchesIn) {
  s.rooms.max_participants = 2;
  auto a = open_session("alice"), b = open_session("bob"), c = open_session("carol");
  join(a, "r1");
  join(b, "r1");
  join(c, "r1", R"(,"ref":"c")");
  auto e = c.link->last("error");
  EXPECT_EQ(str(e.at("code")), "room_full");
  EXPECT_EQ(str(e.at("ref")), "c");
  EXPECT_EQ(c.link->count("room_joined"), 0u);
  EXPECT_EQ(a.link->count("user_joined"), 1u);  // bob only
  auto a2 = open_session("alice");
  join(a2, "r1");
  EXPECT_EQ(a2.link->count("room_joined"), 1u);
}

TEST_F(Rooms, TheRoomListAndItsUpdates) {
  auto a = open_session("alice"), b = open_session("bob"), w = open_session("watcher");
  join(a, "r2");
  send_json(w, R"({"type":"watch_rooms","ref":"w"})");
  auto l = w.link->last("room_list");
  EXPECT_EQ(str(l.at("ref")), "w");
  ASSERT_EQ(l.at("rooms").as_array().size(), 1u);
  EXPECT_EQ(str(l.at("rooms").as_array()[0].at("room_id")), "r2");
  EXPECT_EQ(l.at("rooms").as_array()[0].at("occupancy"), 1);
  join(b, "r2");
  join(b, "r3");
  auto ups = w.link->of_type("room_occupancy_update");
  ASSERT_EQ(ups.size(), 2u) << w.link->dump();
  EXPECT_EQ(str(ups[0].at("room_id")), "r2");
  EXPECT_EQ(ups[0].at("occupancy"), 2);
  EXPECT_EQ(str(ups[1].at("room_id")), "r3");
  send_json(b, R"({"type":"leave_room","room_id":"r3"})");
  EXPECT_EQ(w.link->last("room_occupancy_update").at("occupancy"), 0);  // the last one left
  EXPECT_EQ(rooms().rooms.size(), 1u);  // r3 is gone
  send_json(w, R"({"type":"unwatch_rooms","ref":"u"})");
  EXPECT_EQ(str(w.link->last("ack").at("for")), "unwatch_rooms");
  auto n = w.link->frames.size();
  join(b, "r4");
  EXPECT_EQ(w.link->frames.size(), n);
}

TEST_F(Rooms, ADropIsSeenByNobodyWithinTheWindowThenDisconnectedOnce) {
  auto a = open_session("alice"), b = open_session("bob");
  join(a, "r1");
  join(b, "r1");
  drop(b);
  advance(1990ms);
  EXPECT_EQ(a.link->count("user_left"), 0u);
  advance(10ms);  // resume_window_ms = 2000
  ASSERT_EQ(a.link->count("user_left"), 1u);
  EXPECT_EQ(str(a.link->last("user_left").at("reason")), "disconnected");
  advance(5000ms);
  EXPECT_EQ(a.link->count("user_left"), 1u);
}

TEST_F(Rooms, AResumeKeepsTheRoomsWithNoLeaveOrJoinSeen) {
  auto a = open_session("alice"), b = open_session("bob");
  join(a, "r1");
  join(b, "r1");
  drop(b);
  auto c = open_session("carol");
  join(c, "r1");  // while bob is away: he misses its user_joined
  auto before = a.link->frames.size();
  auto b2 = open_session("bob", b.resume_token());
  ASSERT_EQ(b2.connected().at("resumed"), true);
  EXPECT_EQ(a.link->frames.size(), before) << a.link->dump();
  EXPECT_EQ(c.link->count("user_joined"), 0u);
  // The resumed session gets each room's current state again, after `connected`.
  ASSERT_EQ(b2.link->frames.size(), 2u) << b2.link->dump();
  EXPECT_EQ(str(b2.link->frames[0].at("type")), "connected");
  auto state = b2.link->last("room_joined");
  EXPECT_EQ(user_ids(state.at("participants")), (strings{"alice", "bob", "carol"}));
  EXPECT_FALSE(state.contains("ref"));
  // Still a member, on the new connection.
  send_json(a, R"({"type":"publish","room_id":"r1","data":"hi"})");
  EXPECT_EQ(b2.link->count("room_message"), 1u);
  send_json(b2, R"({"type":"publish","room_id":"r1","data":"back"})");
  EXPECT_EQ(str(a.link->last("room_message").at("user_id")), "bob");
  advance(5000ms);
  EXPECT_EQ(a.link->count("user_left"), 0u);
}

TEST_F(Rooms, EachWayOfEndingIsItsReason) {
  s.session.idle_timeout_ms = 600000;
  auto a = open_session("alice");
  join(a, "r1");
  auto timeout = open_session("t"), left = open_session("l"), bad = open_session("x");
  join(timeout, "r1");
  join(left, "r1");
  join(bad, "r1");
  // before_disconnect: the rooms go at once, reason left.
  send_json(left, R"({"type":"before_disconnect"})");
  EXPECT_EQ(str(a.link->last("user_left").at("reason")), "left");
  EXPECT_EQ(str(a.link->last("user_left").at("user_id")), "l");
  // 20 bad frames: closed by the server, no window: disconnected.
  for (int i = 0; i < 20; ++i) send_bad_frame(bad);
  EXPECT_EQ(str(a.link->last("user_left").at("user_id")), "x");
  EXPECT_EQ(str(a.link->last("user_left").at("reason")), "disconnected");
  // Stops answering pings: timeout after interval x max_missed (1000 x 3) + one interval.
  for (int i = 0; i < 40; ++i) {
    advance(100ms);
    pong(a);
  }
  EXPECT_EQ(str(a.link->last("user_left").at("user_id")), "t");
  EXPECT_EQ(str(a.link->last("user_left").at("reason")), "timeout");
  EXPECT_EQ(a.link->count("user_left"), 3u);
}

TEST_F(Rooms, ARoomThatDiesIsJoinedAgainSilently) {
  auto a = open_session("alice"), b = open_session("bob");
  join(a, "r1");
  join(b, "r1");
  auto snap = rooms();
  ASSERT_EQ(snap.rooms.size(), 1u);
  caf::anon_send_exit(snap.actors.at(0), caf::exit_reason::kill);
  run();
  auto again = rooms();
  ASSERT_EQ(again.rooms.size(), 1u);
  EXPECT_EQ(again.rooms[0].occupancy, 2);
  EXPECT_EQ(a.link->count("user_left"), 0u);
  EXPECT_EQ(a.link->count("room_joined"), 1u);  // silent
  send_json(a, R"({"type":"publish","room_id":"r1","data":1})");
  EXPECT_EQ(b.link->count("room_message"), 1u);
}

TEST_F(Rooms, RoomsCrashingBeyondTheIntensityMakeTheRegistryGiveUp) {
  s.rooms.max_restarts = 2;
  s.rooms.restart_period_ms = 10000;
  s.session.idle_timeout_ms = 600000;
  auto a = open_session("alice");
  join(a, "r1");
  auto registry = caf::actor_cast<caf::actor>(deps().rooms);
  auto down = std::make_shared<std::optional<caf::error>>();
  to_kill.push_back(sys->spawn([registry, down](caf::event_based_actor* self) -> caf::behavior {
    self->monitor(registry);
    self->set_down_handler([down](caf::down_msg& m) { *down = m.reason; });
    return {[](int) {}};
  }));
  run();
  auto crash_room = [&] {
    auto snap = rooms();
    ASSERT_EQ(snap.actors.size(), 1u);
    caf::anon_send_exit(snap.actors.at(0), caf::exit_reason::kill);
    run();
  };
  crash_room();
  for (int i = 0; i < 22; ++i) {  // the first crash goes out of the period (a keeps answering pings)
    advance(500ms);
    pong(a);
  }
  crash_room();
  crash_room();
  EXPECT_FALSE(*down) << "gave up within the intensity";
  EXPECT_EQ(a.link->count("user_left"), 0u);
  crash_room();  // the third within 10 s
  ASSERT_TRUE(*down);
  EXPECT_TRUE(**down) << "the registry must stop with an error the supervisor sees";
}

}  // namespace
}  // namespace tether::actor_testing

namespace tether::actor_testing {
namespace {

// A room driven directly, with members whose outboxes are fake links: broadcasts to more members
// than a slice are written a slice per message, and every member still sees the room's order.
class RoomSlices : public actor_test {
 protected:
  struct fake_member {
    std::shared_ptr<fake_link> link = std::make_shared<fake_link>();
    std::shared_ptr<outbox> out = std::make_shared<outbox>();
    caf::actor session;
  };
  fake_member member() {
    fake_member f;
    f.out->bind(f.link);
    f.session = sys->spawn([](caf::event_based_actor*) -> caf::behavior { return {[](int) {}}; });
    to_kill.push_back(f.session);
    return f;
  }
  room_member as_member(const fake_member& f, const std::string& sid, const std::string& user) {
    room_member m;
    m.session_id = sid;
    m.user_id = user;
    m.display_name = user;
    m.session = caf::actor_cast<session_actor>(f.session);
    m.out = f.out;
    return m;
  }
};

TEST_F(RoomSlices, ABigBroadcastIsSlicedAndKeepsTheOrder) {
  room_config cfg;
  cfg.slice = 2;
  auto registry = spawn_room_registry(*sys, cfg);
  to_kill.push_back(caf::actor_cast<caf::actor>(registry));
  std::vector<fake_member> ms;
  for (int i = 0; i < 5; ++i) {
    ms.push_back(member());
    auto r = ask<join_result>(registry, join_atom::value, std::string("big"),
                              as_member(ms.back(), "s" + std::to_string(i), "u" + std::to_string(i)));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->outcome, join_outcome::joined);
  }
  auto room = ask<room_list_snapshot>(registry, list_atom::value)->actors.at(0);
  for (int i = 0; i < 3; ++i) caf::anon_send(room, publish_atom::value, std::string("s0"), json::value(i));
  // One message to the room writes one slice; the rest continue in later messages.
  sched->run_once();
  std::size_t after_one = 0;
  for (auto& m : ms) after_one += m.link->count("room_message");
  EXPECT_EQ(after_one, 2u);
  run();
  for (auto& m : ms) {
    auto got = m.link->of_type("room_message");
    ASSERT_EQ(got.size(), 3u) << m.link->dump();
    for (int i = 0; i < 3; ++i) EXPECT_EQ(got[i].at("data"), i);
  }
}

}  // namespace
}  // namespace tether::actor_testing
