// Guests on the real binary (PROTOCOL.md §6 "Guests", §11 "Rooms"): POST /api/guests hands out a
// token that opens sessions and names its guest in rooms; creation is limited per address; a guest
// inactive past users.guest_inactive_ms is deleted (rooms told `inactive`, socket 4010, token
// refused) while an active one stays.
#include "support.hpp"

#include <gtest/gtest.h>

using namespace tether::it;
namespace http = boost::beast::http;

namespace {

http_result create_guest(const server_process& s, const std::string& body) {
  return http_call(s.port(), http::verb::post, "/api/guests", "", body, "application/json");
}

struct guest {
  std::string user_id, token;
};

guest new_guest(const server_process& s, const std::string& name) {
  auto r = create_guest(s, json::serialize(json::object{{"display_name", name}}));
  EXPECT_EQ(r.status, 201) << r.body;
  if (r.status != 201) return {};
  auto o = r.json().as_object();
  return {str(o, "user_id"), str(o, "token")};
}

json::object join(ws_client& c, const std::string& room) {
  auto r = request(c, {{"type", "join_room"}, {"room_id", room}, {"ref", "join"}});
  EXPECT_TRUE(r);
  return r ? *r : json::object{};
}

TEST(Guests, AGuestTokenOpensASessionAndNamesItsGuestInRooms) {
  server_process s;
  auto r = create_guest(s, R"({"display_name":"Ada L."})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto o = r.json().as_object();
  auto id = str(o, "user_id");
  EXPECT_EQ(id.rfind("g_", 0), 0u) << id;
  EXPECT_EQ(str(o, "display_name"), "Ada L.");
  EXPECT_EQ(str(o, "expires_at").size(), 24u);

  auto who = http_call(s.port(), http::verb::get, "/api/whoami", str(o, "token"));
  ASSERT_EQ(who.status, 200) << who.body;
  EXPECT_EQ(who.json().at("guest"), true);
  EXPECT_EQ(str(who.json().as_object(), "user_id"), id);

  ws_client c(s.port());
  auto connected = open_session(c, str(o, "token"));
  ASSERT_TRUE(connected);
  EXPECT_EQ(str(*connected, "user_id"), id);
  auto joined = join(c, "study");
  auto p = joined.at("participants").as_array().at(0).as_object();
  EXPECT_EQ(str(p, "display_name"), "Ada L.");
  EXPECT_TRUE(has_record(audit(s, "user_id=" + id), "guest_created")) << dump(audit(s, "user_id=" + id));
  EXPECT_NE(new_guest(s, "Ada L.").user_id, id);  // the same name is another guest
}

TEST(Guests, BadBodiesAreRefusedAndChangeNothing) {
  server_process s({"limits.guests_per_ip_per_minute=1"});
  auto expect_400 = [&](const std::string& body, const std::string& code) {
    auto r = create_guest(s, body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    EXPECT_EQ(str(r.json().at("error").as_object(), "code"), code) << r.body;
  };
  expect_400("not json", "bad_json");
  expect_400("[]", "bad_json");
  expect_400("{}", "invalid_field");
  expect_400(R"({"display_name":""})", "invalid_field");
  expect_400(R"({"display_name":42})", "invalid_field");
  expect_400(R"({"display_name":"a\u0007b"})", "invalid_field");
  expect_400(json::serialize(json::object{{"display_name", std::string(129, 'x')}}), "invalid_field");
  EXPECT_EQ(http_call(s.port(), http::verb::get, "/api/guests").status, 405);
  // None of them used the one guest this address may create this minute.
  EXPECT_EQ(create_guest(s, json::serialize(json::object{{"display_name", std::string(128, 'x')}})).status, 201);
}

TEST(Guests, CreationIsLimitedPerAddress) {
  server_process s({"limits.guests_per_ip_per_minute=3"});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(create_guest(s, R"({"display_name":"G"})").status, 201) << i;
  auto r = create_guest(s, R"({"display_name":"G"})");
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(str(r.json().at("error").as_object(), "code"), "rate_limited");
  ASSERT_TRUE(r.headers.count("Retry-After")) << r.body;
  EXPECT_EQ(r.headers["Retry-After"], "20");  // 3 a minute: one every 20 s
}

// Three members of a room: a guest that stops sending application messages, a guest that keeps
// publishing, and a regular user. Only the first goes, once, with reason `inactive`; a guest that
// never connected goes too; their tokens are refused at the upgrade from then on.
TEST(Guests, AnInactiveGuestIsDeletedAndAnActiveOneStays) {
  server_process s({"users.guest_inactive_ms=1500", "users.sweep_interval_ms=100"});
  auto idle = new_guest(s, "Idle"), busy = new_guest(s, "Busy"), never = new_guest(s, "Never");
  ws_client ci(s.port()), cb(s.port()), bob(s.port());
  ASSERT_TRUE(open_session(ci, idle.token));
  ASSERT_TRUE(open_session(cb, busy.token));
  ASSERT_TRUE(open_session(bob, s.token("bob")));
  join(ci, "study");
  join(cb, "study");
  join(bob, "study");

  auto started = std::chrono::steady_clock::now();
  std::optional<int> idle_closed;
  int left_seen = 0;
  // The idle guest's close is the clock: until it comes, the busy guest publishes every 100 ms.
  while (!idle_closed && std::chrono::steady_clock::now() - started < 10s) {
    idle_closed = ci.wait_close(100ms);
    ASSERT_TRUE(cb.send_json({{"type", "publish"}, {"room_id", "study"}, {"data", "still here"}}));
    ASSERT_TRUE(cb.next_of_type("room_message", 2s)) << "the busy guest was cut off";
  }
  ASSERT_EQ(idle_closed, 4010);
  auto after = std::chrono::steady_clock::now() - started;
  EXPECT_GE(after, 1500ms);  // never early
  // Bob was told once, with the reason; the busy guest too.
  for (int i = 0; i < 20; ++i) {
    auto m = bob.next_json(200ms);
    if (m && str(*m, "type") == "user_left") {
      EXPECT_EQ(str(*m, "user_id"), idle.user_id);
      EXPECT_EQ(str(*m, "reason"), "inactive");
      ++left_seen;
    }
  }
  EXPECT_EQ(left_seen, 1);
  // Well past the idle guest's deadline, the busy guest is still in.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(cb.send_json({{"type", "publish"}, {"room_id", "study"}, {"data", i}}));
    ASSERT_TRUE(cb.next_of_type("room_message", 2s));
    // Bob hears of no one else leaving (waiting 100 ms for it paces the loop).
    for (auto m = bob.next_json(100ms); m; m = bob.next_json(100ms))
      EXPECT_NE(str(*m, "type"), "user_left") << serialize(*m);
  }
  EXPECT_TRUE(cb.is_open());

  auto who = http_call(s.port(), http::verb::get, "/api/whoami", idle.token);
  EXPECT_EQ(who.status, 401) << who.body;  // a browser, which can't read the upgrade's 401, asks here
  EXPECT_NE(who.body.find("no longer exists"), std::string::npos) << who.body;
  EXPECT_EQ(http_call(s.port(), http::verb::get, "/api/whoami", busy.token).status, 200);
  ws_client again(s.port());
  EXPECT_EQ(again.connect("/ws?token=" + idle.token), 401);
  EXPECT_NE(again.body().find("no longer exists"), std::string::npos) << again.body();
  ws_client late(s.port());
  EXPECT_EQ(late.connect("/ws?token=" + never.token), 401);
  // A token sent by message is refused too.
  ws_client by_message(s.port());
  ASSERT_EQ(by_message.connect("/ws"), 101);
  ASSERT_TRUE(by_message.send_json({{"type", "connect"}, {"token", idle.token}}));
  auto err = by_message.next_of_type("error", 3s);
  ASSERT_TRUE(err);
  EXPECT_EQ(str(*err, "code"), "unauthorized");
  EXPECT_EQ(by_message.wait_close(3s), 4010);

  auto records = audit(s, "user_id=" + idle.user_id);
  EXPECT_TRUE(has_record(records, "guest_deleted", "inactive")) << dump(records);
  EXPECT_TRUE(has_record(records, "session_closed", "inactive")) << dump(records);
  EXPECT_FALSE(has_record(audit(s, "user_id=" + busy.user_id), "guest_deleted"));
}

}  // namespace
